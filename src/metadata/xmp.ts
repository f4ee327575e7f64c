import { XMLParser } from 'fast-xml-parser';
import { fromTree, xmpText, type XmlNode } from './rdf.js';
import type { FileMetadata } from './types.js';

export { MAX_PACKET_CHARS } from './rdf.js';

let parser: XMLParser | undefined;

function xml(): XMLParser {
  // Ordered output and no entity processing, the cheaper mode for XMP packets;
  // the few values we keep are unescaped in rdf.ts.
  parser ??= new XMLParser({
    preserveOrder: true,
    processEntities: false,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
    parseAttributeValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    trimValues: true,
  });
  return parser;
}

/**
 * Keywords and credits from one XMP packet (or an RDF block such as an SVG's
 * `<metadata>`), parsed with fast-xml-parser: what the small reader in
 * minixml.ts leaves to a full XML parser. Never throws: a packet that does
 * not parse says nothing.
 */
export function parseXmp(packet: string): FileMetadata {
  const text = xmpText(packet);
  if (text === null) return {};
  let root: El[];
  try {
    root = xml().parse(text) as El[];
  } catch {
    return {};
  }
  return fromTree(nodes(root));
}

/** fast-xml-parser's ordered output: `{ [name]: children, ':@': attributes }` or `{ '#text': … }`. */
type El = Record<string, unknown>;

function nodes(els: El[]): XmlNode[] {
  const out: XmlNode[] = [];
  for (const el of els) {
    let name: string | undefined;
    for (const k in el) if (k !== ':@') name ??= k;
    if (!name || name === '#text') continue;
    const children = Array.isArray(el[name]) ? (el[name] as El[]) : [];
    let text = '';
    for (const c of children) if (typeof c['#text'] === 'string' || typeof c['#text'] === 'number') text += String(c['#text']);
    const attributes = el[':@'] as Record<string, unknown> | undefined;
    out.push({
      name,
      attributes: attributes ? Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v)])) : null,
      children: nodes(children),
      text,
    });
  }
  return out;
}
