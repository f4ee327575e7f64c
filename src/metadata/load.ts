import type { FileMetadata } from './types.js';

let xmp: Promise<typeof import('./xmp.js')> | undefined;

/**
 * parseXmp, loaded on first use: the XML parser stays out of the start-up of
 * runs that never meet a file with metadata (a restart over an unchanged tree).
 */
export async function readXmp(packet: string): Promise<FileMetadata> {
  return (await (xmp ??= import('./xmp.js'))).parseXmp(packet);
}
