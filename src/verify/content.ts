import type { AssetDto } from '../squidex/index.js';
import { META_SHA } from '../worker/mapping.js';
import type { VerifyStore } from './store.js';

/**
 * Is the content of this asset still what squidex-sync last wrote (`sha256`,
 * the hash in the files table)? Returns why not, or null.
 *
 * Two witnesses: our stamp (Squidex replaces an asset's metadata when its
 * content is replaced, so someone else's upload removes it) and the content
 * version (fileVersion, +1 per replace) we recorded after our last write.
 * A stamp still waiting to go out counts as on the asset. With no stamp at
 * all, a known and equal fileVersion wins: stamps can be given up on after
 * repeated refusals, and that must not read as someone else's upload.
 */
export function contentChange(asset: AssetDto, sha256: string, store: Pick<VerifyStore, 'fileVersion' | 'pendingStampSha'>): string | null {
  const stamped = asset.metadata?.[META_SHA];
  const pending = store.pendingStampSha(asset.id);
  const stamp: 'ours' | 'other' | 'none' =
    pending === sha256 || stamped === sha256 ? 'ours' : pending !== undefined || typeof stamped === 'string' ? 'other' : 'none';
  const known = store.fileVersion(asset.id);
  const version: 'same' | 'other' | 'unknown' =
    known === undefined || typeof asset.fileVersion !== 'number' ? 'unknown' : asset.fileVersion === known ? 'same' : 'other';
  if (version === 'other')
    return `its content was replaced in Squidex: content version ${asset.fileVersion}, squidex-sync last wrote version ${known}`;
  if (stamp === 'other') return 'its content was replaced in Squidex: it carries the stamp of other content';
  if (stamp === 'none' && version === 'unknown') return 'its content was replaced in Squidex: our stamp is gone from it';
  return null;
}
