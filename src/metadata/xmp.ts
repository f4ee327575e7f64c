import { XMLParser } from 'fast-xml-parser';
import type { FileMetadata } from './types.js';

const RDF = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';
const DC = 'http://purl.org/dc/elements/1.1/';
const PDF = 'http://ns.adobe.com/pdf/1.3/';
/** A packet larger than this is not parsed: bloated Photoshop histories run to megabytes and say nothing we use. */
export const MAX_PACKET_CHARS = 4 * 1024 * 1024;

type Node = Record<string, unknown>;

/**
 * Prefixes as everyone writes them, for a block cut out of a larger document
 * whose declarations stayed outside it (an SVG declares them on its root).
 */
const WELL_KNOWN: ReadonlyArray<[string, string]> = [['rdf', RDF], ['dc', DC], ['pdf', PDF]];

let parser: XMLParser | undefined;

function xml(): XMLParser {
  parser ??= new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    parseTagValue: false,
    parseAttributeValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    trimValues: true,
    // Every element a list, so one walk handles one and many alike.
    isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
  });
  return parser;
}

/**
 * Keywords and credits from one XMP packet (or an RDF block such as an SVG's
 * `<metadata>`): dc:subject, dc:title, dc:description, dc:creator, dc:rights,
 * and pdf:Keywords when there is no dc:subject. Only properties of the
 * top-level descriptions count, so the title of a placed image or of a
 * history entry nested inside is not taken for the file's own. Namespaces are
 * matched by URI, not by prefix. Never throws: a packet that does not parse
 * says nothing.
 */
export function parseXmp(packet: string): FileMetadata {
  const start = packet.search(/<(?:\?xpacket|[A-Za-z][\w.-]*:xmpmeta|[A-Za-z][\w.-]*:RDF)[\s>]/);
  if (start < 0 || packet.length > MAX_PACKET_CHARS) return {};
  // XMP forbids DTDs; one here is at best a mistake and at worst an entity bomb.
  if (/<!(?:DOCTYPE|ENTITY)/i.test(packet)) return {};
  const text = packet.slice(start);
  let root: Node;
  try {
    root = xml().parse(text) as Node;
  } catch {
    return {};
  }
  const found: FileMetadata = {};
  for (const { node, ns } of descriptions(root, new Map(WELL_KNOWN))) readProperties(node, ns, found);
  return found;
}

interface Scoped {
  node: Node;
  ns: Map<string, string>;
}

/** The element's own xmlns declarations on top of its parent's. */
function scope(node: Node, parent: Map<string, string>): Map<string, string> {
  let ns = parent;
  for (const key of Object.keys(node)) {
    if (!key.startsWith('@xmlns:')) continue;
    if (ns === parent) ns = new Map(parent);
    ns.set(key.slice(7), String(node[key]));
  }
  return ns;
}

function split(name: string): [string, string] {
  const i = name.indexOf(':');
  return i < 0 ? ['', name] : [name.slice(0, i), name.slice(i + 1)];
}

function children(node: Node): Array<[string, Node | string]> {
  const out: Array<[string, Node | string]> = [];
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@') || key === '#text' || !Array.isArray(value)) continue;
    for (const v of value) out.push([key, (typeof v === 'object' && v !== null ? v : String(v)) as Node | string]);
  }
  return out;
}

/** The children of every rdf:RDF, wherever it sits (x:xmpmeta, an SVG's metadata, bare). */
function descriptions(node: Node, parentNs: Map<string, string>, depth = 0): Scoped[] {
  const ns = scope(node, parentNs);
  const out: Scoped[] = [];
  if (depth > 16) return out;
  for (const [name, child] of children(node)) {
    if (typeof child === 'string') continue;
    const childNs = scope(child, ns);
    const [prefix, local] = split(name);
    if (local === 'RDF' && childNs.get(prefix) === RDF) {
      for (const [, d] of children(child)) if (typeof d !== 'string') out.push({ node: d, ns: scope(d, childNs) });
    } else {
      out.push(...descriptions(child, ns, depth + 1));
    }
  }
  return out;
}

function readProperties(desc: Node, ns: Map<string, string>, found: FileMetadata): void {
  const props: Array<[string, string, Node | string]> = [];
  for (const [key, value] of Object.entries(desc)) {
    if (key.startsWith('@') && !key.startsWith('@xmlns')) {
      const [prefix, local] = split(key.slice(1));
      props.push([ns.get(prefix) ?? '', local, String(value)]);
    }
  }
  for (const [name, child] of children(desc)) {
    const [prefix, local] = split(name);
    props.push([ns.get(prefix) ?? '', local, child]);
  }
  let pdfKeywords: string | undefined;
  for (const [uri, local, value] of props) {
    if (uri === PDF && local === 'Keywords') pdfKeywords ??= first(texts(value, ns));
    if (uri !== DC) continue;
    const values = texts(value, ns);
    if (values.length === 0) continue;
    switch (local) {
      case 'subject':
        found.keywords ??= values;
        break;
      case 'title':
        found.title ??= preferred(value, ns);
        break;
      case 'description':
        found.description ??= preferred(value, ns);
        break;
      case 'creator':
        found.creator ??= values.join(', ');
        break;
      case 'rights':
        found.copyright ??= preferred(value, ns);
        break;
    }
  }
  if (!found.keywords && pdfKeywords) {
    const words = pdfKeywords.split(/[,;]/).map((w) => w.trim()).filter(Boolean);
    if (words.length > 0) found.keywords = words;
  }
}

/** The rdf:li items of a Bag, Seq or Alt, or the property's own text. */
function texts(value: Node | string, ns: Map<string, string>): string[] {
  if (typeof value === 'string') return value.trim() ? [value.trim()] : [];
  const own = typeof value['#text'] === 'string' ? value['#text'].trim() : '';
  const items: string[] = [];
  for (const [name, container] of children(value)) {
    const [prefix] = split(name);
    if (typeof container === 'string' || scope(container, ns).get(prefix) !== RDF) continue;
    for (const [liName, li] of children(container)) {
      if (split(liName)[1] !== 'li') continue;
      const t = typeof li === 'string' ? li : typeof li['#text'] === 'string' ? li['#text'] : '';
      if (t.trim()) items.push(t.trim());
    }
  }
  if (items.length > 0) return items;
  return own ? [own] : [];
}

/** An Alt's x-default entry, else its first. */
function preferred(value: Node | string, ns: Map<string, string>): string | undefined {
  if (typeof value !== 'string') {
    for (const [, container] of children(value)) {
      if (typeof container === 'string') continue;
      for (const [, li] of children(container)) {
        if (typeof li !== 'string' && li['@xml:lang'] === 'x-default' && typeof li['#text'] === 'string' && li['#text'].trim()) return li['#text'].trim();
      }
    }
  }
  return first(texts(value, ns));
}

function first(values: string[]): string | undefined {
  return values[0];
}
