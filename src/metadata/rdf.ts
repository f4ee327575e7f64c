import { unescapeXml } from './text.js';
import type { FileMetadata } from './types.js';

const RDF = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';
const DC = 'http://purl.org/dc/elements/1.1/';
const PDF = 'http://ns.adobe.com/pdf/1.3/';
/** A packet larger than this is not parsed: bloated Photoshop histories run to megabytes and say nothing we use. */
export const MAX_PACKET_CHARS = 4 * 1024 * 1024;

/**
 * Prefixes as everyone writes them, for a block cut out of a larger document
 * whose declarations stayed outside it (an SVG declares them on its root).
 */
const WELL_KNOWN: ReadonlyArray<[string, string]> = [
  ['rdf', RDF],
  ['dc', DC],
  ['pdf', PDF],
];

/** An XML element as both parsers hand it over: values trimmed, entities left as written. */
export interface XmlNode {
  /** Qualified, as written (`dc:subject`). */
  name: string;
  attributes: Record<string, string> | null;
  children: XmlNode[];
  /** Its own text pieces, each trimmed, joined. */
  text: string;
}
type Ns = Map<string, string>;

/**
 * The part of an XMP packet (or RDF block) worth parsing, or null when it is
 * none or must not be parsed.
 */
export function xmpText(packet: string): string | null {
  const start = packet.search(/<(?:\?xpacket|[A-Za-z][\w.-]*:xmpmeta|[A-Za-z][\w.-]*:RDF)[\s>]/);
  if (start < 0 || packet.length > MAX_PACKET_CHARS) return null;
  // XMP forbids DTDs; one here is at best a mistake and at worst an entity bomb.
  if (/<!(?:DOCTYPE|ENTITY)/i.test(packet)) return null;
  // The padding an editor leaves for in-place updates (kilobytes of spaces) costs more to parse than the rest.
  const end = packet.lastIndexOf(':xmpmeta>');
  return packet.slice(start, end > start ? end + ':xmpmeta>'.length : undefined);
}

/**
 * Keywords and credits from a parsed packet: dc:subject, dc:title,
 * dc:description, dc:creator, dc:rights, and pdf:Keywords when there is no
 * dc:subject. Only properties of the top-level descriptions count, so the
 * title of a placed image or of a history entry nested inside is not taken
 * for the file's own. Namespaces are matched by URI, not by prefix.
 */
export function fromTree(root: XmlNode[]): FileMetadata {
  const found: FileMetadata = {};
  readDescriptions(root, new Map(WELL_KNOWN), found, 0);
  return found;
}

/** The element's own xmlns declarations on top of its parent's. */
function scope(el: XmlNode, parent: Ns): Ns {
  const attributes = el.attributes;
  if (!attributes) return parent;
  let ns = parent;
  for (const key in attributes) {
    if (!key.startsWith('xmlns:')) continue;
    if (ns === parent) ns = new Map(parent);
    ns.set(key.slice(6), attributes[key]);
  }
  return ns;
}

function uriOf(name: string, ns: Ns): string {
  const i = name.indexOf(':');
  return ns.get(i < 0 ? '' : name.slice(0, i)) ?? '';
}

function localOf(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

/**
 * Reads the children of every rdf:RDF, wherever it sits (x:xmpmeta, an SVG's
 * metadata, bare), in document order as it meets them: each is read where
 * it is found, with no list of them built first.
 */
function readDescriptions(els: XmlNode[], parentNs: Ns, found: FileMetadata, depth: number): void {
  if (depth > 16) return;
  for (const el of els) {
    const ns = scope(el, parentNs);
    if (localOf(el.name) === 'RDF' && uriOf(el.name, ns) === RDF) {
      for (const d of el.children) readProperties(d, scope(d, ns), found);
    } else {
      readDescriptions(el.children, ns, found, depth + 1);
    }
  }
}

function readProperties(desc: XmlNode, ns: Ns, found: FileMetadata): void {
  const pdfKeywords: { value?: string } = {};
  const attributes = desc.attributes;
  if (attributes) {
    for (const key in attributes) {
      if (!key.startsWith('xmlns')) readProperty(uriOf(key, ns), localOf(key), unescapeXml(attributes[key]), ns, found, pdfKeywords);
    }
  }
  for (const child of desc.children) readProperty(uriOf(child.name, ns), localOf(child.name), child, ns, found, pdfKeywords);
  if (!found.keywords && pdfKeywords.value) {
    const words = pdfKeywords.value
      .split(/[,;]/)
      .map((w) => w.trim())
      .filter(Boolean);
    if (words.length > 0) found.keywords = words;
  }
}

function readProperty(uri: string, local: string, value: XmlNode | string, ns: Ns, found: FileMetadata, pdf: { value?: string }): void {
  if (uri === PDF && local === 'Keywords') pdf.value ??= texts(value, ns)[0];
  if (uri !== DC) return;
  // The rdf:li items are looked up once for both the values and an Alt's x-default.
  const lis = typeof value === 'string' ? undefined : items(value, ns);
  const values = texts(value, ns, lis);
  if (values.length === 0) return;
  if (local === 'subject') found.keywords ??= values;
  else if (local === 'title') found.title ??= preferred(lis) ?? values[0];
  else if (local === 'description') found.description ??= preferred(lis) ?? values[0];
  else if (local === 'creator') found.creator ??= values.join(', ');
  else if (local === 'rights') found.copyright ??= preferred(lis) ?? values[0];
}

function ownText(el: XmlNode): string {
  return unescapeXml(el.text).trim();
}

/** The rdf:li items of the property's Bag, Seq or Alt, or its own text. */
function items(prop: XmlNode, ns: Ns): XmlNode[] {
  const lis: XmlNode[] = [];
  for (const container of prop.children) {
    if (uriOf(container.name, scope(container, ns)) !== RDF) continue;
    for (const li of container.children) if (localOf(li.name) === 'li') lis.push(li);
  }
  return lis;
}

function texts(value: XmlNode | string, ns: Ns, lis?: XmlNode[]): string[] {
  if (typeof value === 'string') return value.trim() ? [value.trim()] : [];
  const said = (lis ?? items(value, ns)).map(ownText).filter(Boolean);
  if (said.length > 0) return said;
  const own = ownText(value);
  return own ? [own] : [];
}

/** An Alt's x-default entry. */
function preferred(lis: XmlNode[] | undefined): string | undefined {
  const li = lis?.find((l) => l.attributes?.['xml:lang'] === 'x-default');
  return li ? ownText(li) || undefined : undefined;
}
