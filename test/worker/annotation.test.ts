import { describe, expect, it } from 'vitest';
import { describeChange, desired, mergeAnnotation } from '../../src/worker/annotation.js';
import type { MappingRuntime } from '../../src/worker/mapping.js';

const mapping: MappingRuntime = { name: 'm', local: '/x', remote: 'R', deletes: 'keep', permanentDeletes: false };
const none = { tags: [], metadata: {} };

describe('what squidex-sync wants on an asset', () => {
  it('config tags, folder names, keywords; the sidecar wins field by field; credits under plain keys', () => {
    const m = { ...mapping, tags: ['brand'], folderTags: true };
    const file = { keywords: ['from-file'], title: 'File title', description: 'File caption', copyright: '© file' };
    const sidecar = { keywords: ['from-sidecar', 'brand'], title: 'Sidecar title' };
    expect(desired(m, 'Campaigns/Summer/hero.jpg', file, sidecar)).toEqual({
      tags: ['brand', 'Campaigns', 'Summer', 'from-sidecar'],
      metadata: { title: 'Sidecar title', caption: 'File caption', copyright: '© file' },
    });
  });

  it('embeddedMetadata: false reads nothing from files or sidecars', () => {
    const m = { ...mapping, embeddedMetadata: false, tags: ['brand'] };
    expect(desired(m, 'a/b.jpg', { keywords: ['k'], title: 't' }, { keywords: ['s'] })).toEqual({ tags: ['brand'], metadata: {} });
  });
});

describe('merging, never clobbering', () => {
  const asset = (tags: string[], metadata: Record<string, unknown> = {}) => ({ tags, metadata });

  it('adds what is wanted; Squidex’s own tags and an editor’s stay; only our own are removed', () => {
    const had = { tags: ['summer', 'beach'], metadata: {} };
    const want = { tags: ['summer', 'autumn'], metadata: {} };
    const m = mergeAnnotation(asset(['type/jpg', 'image', 'summer', 'beach', 'editor-pick']), { want, had, fresh: false });
    expect(m.tags).toEqual(['type/jpg', 'image', 'summer', 'editor-pick', 'autumn']);
    expect(m.owned.tags).toEqual(['summer', 'autumn']);
    expect(m.metadata).toBeUndefined(); // nothing of ours changed there: not sent
  });

  it('never claims a tag someone else put there first, so never removes it later (adoption)', () => {
    const want = { tags: ['summer'], metadata: {} };
    const m = mergeAnnotation(asset(['type/jpg', 'summer']), { want, had: none, fresh: false });
    expect(m.tags).toBeUndefined();
    expect(m.owned.tags).toEqual([]);
    const later = mergeAnnotation(asset(['type/jpg', 'summer']), { want: none, had: m.owned, fresh: false });
    expect(later.tags).toBeUndefined();
  });

  it('a tag an editor removed stays removed until the file changes it', () => {
    const had = { tags: ['summer'], metadata: {} };
    expect(mergeAnnotation(asset(['type/jpg']), { want: { tags: ['summer', 'new'], metadata: {} }, had, fresh: false }).tags).toEqual([
      'type/jpg',
      'new',
    ]);
  });

  it('metadata: our keys follow the file; an editor’s value of one of them stands while the file is unchanged; others stay', () => {
    const had = { tags: [], metadata: { title: 'Old', caption: 'Cap' } };
    const server = { title: 'Old', caption: 'Edited by an editor', alt: 'editor key', squidexSyncSha256: 'x' };
    const same = mergeAnnotation(asset([], server), { want: { tags: [], metadata: { title: 'Old', caption: 'Cap' } }, had, fresh: false });
    expect(same.metadata).toBeUndefined();
    const changed = mergeAnnotation(asset([], server), { want: { tags: [], metadata: { title: 'New' } }, had, fresh: false });
    // title changed in the file: written; caption gone from the file, but edited on the server: left alone.
    expect(changed.metadata).toEqual({ title: 'New', caption: 'Edited by an editor', alt: 'editor key', squidexSyncSha256: 'x' });
    expect(changed.owned.metadata).toEqual({ title: 'New' });
    // A key someone else set first is not ours to overwrite.
    const taken = mergeAnnotation(asset([], { copyright: 'Editor' }), {
      want: { tags: [], metadata: { copyright: 'File' } },
      had: none,
      fresh: false,
    });
    expect(taken.metadata).toBeUndefined();
    expect(taken.owned.metadata).toEqual({});
  });

  it('right after an upload every wanted key is written again (Squidex replaced the metadata)', () => {
    const had = { tags: [], metadata: { title: 'T' } };
    const m = mergeAnnotation(asset([], { pixelWidth: 10 }), { want: { tags: [], metadata: { title: 'T' } }, had, fresh: true });
    expect(m.metadata).toEqual({ pixelWidth: 10, title: 'T' });
  });

  it('the dry run names the change', () => {
    expect(
      describeChange({
        want: { tags: ['a', 'b'], metadata: { title: 'T' } },
        had: { tags: ['b', 'c'], metadata: { caption: 'x' } },
        fresh: false,
      }),
    ).toBe('tags +a −c; metadata title, −caption');
    expect(describeChange({ want: { tags: ['a'], metadata: {} }, had: { tags: ['a'], metadata: {} }, fresh: false })).toBeUndefined();
  });
});
