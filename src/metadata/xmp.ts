import { XMLParser } from 'fast-xml-parser';
import { unescape } from './text.js';
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
const WELL_KNOWN: ReadonlyArray<[string, string]> = [['rdf', RDF], ['dc', DC], ['pdf', PDF]];

/** One element of the parser's ordered output: `{ [name]: children, ':@': attributes }` or `{ '#text': … }`. */
type El = Record<string, unknown>;
type Ns = Map<string, string>;

let parser: XMLParser | undefined;

function xml(): XMLParser {
  // Ordered output and no entity processing: measured about twice as fast on
  // XMP packets; the few values we keep are unescaped by unescape() below.
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
  // The padding an editor leaves for in-place updates (kilobytes of spaces) costs more to parse than the rest.
  const end = packet.lastIndexOf(':xmpmeta>');
  const text = packet.slice(start, end > start ? end + ':xmpmeta>'.length : undefined);
  let root: El[];
  try {
    root = xml().parse(text) as El[];
  } catch {
    return {};
  }
  const found: FileMetadata = {};
  for (const { el, ns } of descriptions(root, new Map(WELL_KNOWN))) readProperties(el, ns, found);
  return found;
}

function nameOf(el: El): string | undefined {
  for (const k in el) if (k !== ':@') return k;
  return undefined;
}

function childrenOf(el: El): El[] {
  const name = nameOf(el);
  return name && name !== '#text' && Array.isArray(el[name]) ? (el[name] as El[]) : [];
}

function attributesOf(el: El): Record<string, string> {
  return (el[':@'] as Record<string, string> | undefined) ?? {};
}

/** The element's own xmlns declarations on top of its parent's. */
function scope(el: El, parent: Ns): Ns {
  let ns = parent;
  for (const [key, value] of Object.entries(attributesOf(el))) {
    if (!key.startsWith('xmlns:')) continue;
    if (ns === parent) ns = new Map(parent);
    ns.set(key.slice(6), String(value));
  }
  return ns;
}

function split(name: string): [string, string] {
  const i = name.indexOf(':');
  return i < 0 ? ['', name] : [name.slice(0, i), name.slice(i + 1)];
}

function uriOf(name: string, ns: Ns): [string, string] {
  const [prefix, local] = split(name);
  return [ns.get(prefix) ?? '', local];
}

/** The children of every rdf:RDF, wherever it sits (x:xmpmeta, an SVG's metadata, bare). */
function descriptions(els: El[], parentNs: Ns, depth = 0): Array<{ el: El; ns: Ns }> {
  const out: Array<{ el: El; ns: Ns }> = [];
  if (depth > 16) return out;
  for (const el of els) {
    const name = nameOf(el);
    if (!name || name === '#text') continue;
    const ns = scope(el, parentNs);
    const [uri, local] = uriOf(name, ns);
    if (local === 'RDF' && uri === RDF) {
      for (const d of childrenOf(el)) if (nameOf(d) !== '#text') out.push({ el: d, ns: scope(d, ns) });
    } else {
      out.push(...descriptions(childrenOf(el), ns, depth + 1));
    }
  }
  return out;
}

function readProperties(desc: El, ns: Ns, found: FileMetadata): void {
  const props: Array<[string, string, El | string]> = [];
  for (const [key, value] of Object.entries(attributesOf(desc))) {
    if (!key.startsWith('xmlns')) props.push([...uriOf(key, ns), unescape(String(value))]);
  }
  for (const child of childrenOf(desc)) {
    const name = nameOf(child);
    if (name && name !== '#text') props.push([...uriOf(name, ns), child]);
  }
  let pdfKeywords: string | undefined;
  for (const [uri, local, value] of props) {
    if (uri === PDF && local === 'Keywords') pdfKeywords ??= texts(value, ns)[0];
    if (uri !== DC) continue;
    const values = texts(value, ns);
    if (values.length === 0) continue;
    if (local === 'subject') found.keywords ??= values;
    else if (local === 'title') found.title ??= preferred(value, ns) ?? values[0];
    else if (local === 'description') found.description ??= preferred(value, ns) ?? values[0];
    else if (local === 'creator') found.creator ??= values.join(', ');
    else if (local === 'rights') found.copyright ??= preferred(value, ns) ?? values[0];
  }
  if (!found.keywords && pdfKeywords) {
    const words = pdfKeywords.split(/[,;]/).map((w) => w.trim()).filter(Boolean);
    if (words.length > 0) found.keywords = words;
  }
}

function ownText(el: El): string {
  return unescape(childrenOf(el).map((c) => (typeof c['#text'] === 'string' || typeof c['#text'] === 'number' ? String(c['#text']) : '')).join('')).trim();
}

/** The rdf:li items of the property's Bag, Seq or Alt, or its own text. */
function items(prop: El, ns: Ns): El[] {
  const lis: El[] = [];
  for (const container of childrenOf(prop)) {
    const name = nameOf(container);
    if (!name || name === '#text' || uriOf(name, scope(container, ns))[0] !== RDF) continue;
    for (const li of childrenOf(container)) if (split(nameOf(li) ?? '')[1] === 'li') lis.push(li);
  }
  return lis;
}

function texts(value: El | string, ns: Ns): string[] {
  if (typeof value === 'string') return value.trim() ? [value.trim()] : [];
  const lis = items(value, ns).map(ownText).filter(Boolean);
  if (lis.length > 0) return lis;
  const own = ownText(value);
  return own ? [own] : [];
}

/** An Alt's x-default entry. */
function preferred(value: El | string, ns: Ns): string | undefined {
  if (typeof value === 'string') return undefined;
  const li = items(value, ns).find((l) => attributesOf(l)['xml:lang'] === 'x-default');
  return li ? ownText(li) || undefined : undefined;
}
