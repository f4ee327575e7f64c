import { parseMiniXml } from './minixml.js';
import { fromTree, xmpText } from './rdf.js';
import type { FileMetadata } from './types.js';

let xmp: Promise<typeof import('./xmp.js')> | undefined;

/**
 * Keywords and credits from an XMP packet. The small reader takes the XML
 * that XMP packets are made of; what it declines goes to fast-xml-parser,
 * loaded on first use, so neither a restart over an unchanged tree nor a
 * first sync of ordinary packets pays for loading it.
 */
export async function readXmp(packet: string): Promise<FileMetadata> {
  const quick = readXmpQuick(packet);
  if (quick) return quick;
  xmp ??= import('./xmp.js');
  return (await xmp).parseXmp(packet);
}

/** What the small reader makes of the packet, or undefined where it needs the full parser. */
export function readXmpQuick(packet: string): FileMetadata | undefined {
  const text = xmpText(packet);
  if (text === null) return {};
  const tree = parseMiniXml(text);
  return tree ? fromTree(tree) : undefined;
}
