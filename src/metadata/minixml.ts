import type { XmlNode } from './rdf.js';

/**
 * The XML that XMP packets are made of (elements, attributes, text,
 * processing instructions), parsed into the tree rdf.ts reads, at a fraction
 * of the cost of loading and warming up fast-xml-parser in a fresh process.
 * Anything else — comments, CDATA, DTDs, names outside ASCII, a duplicate
 * attribute, a tag that does not close — returns null, and the caller hands
 * the packet to fast-xml-parser: this reader never guesses.
 *
 * Tags are matched by regular expressions rather than scanned character by
 * character: a first sync reads each packet once, mostly before the JIT has
 * compiled the scanner, and interpreted loops over every character were the
 * larger part of the reading's cost.
 */
const NAME = '[A-Za-z_][\\w.:-]*';
const S = '[ \\t\\r\\n]';
/** A start tag: its name, its attributes (each after whitespace, values without `<`), `/` when empty. */
const START = new RegExp(`<(${NAME})((?:${S}+${NAME}${S}*=${S}*(?:"[^"<]*"|'[^'<]*'))*)${S}*(/?)>`, 'y');
const ATTRIBUTE = new RegExp(`${S}+(${NAME})${S}*=${S}*(?:"([^"<]*)"|'([^'<]*)')`, 'g');
const END = new RegExp(`</(${NAME})${S}*>`, 'y');

export function parseMiniXml(text: string): XmlNode[] | null {
  const root: XmlNode[] = [];
  const open: XmlNode[] = [];
  let current: XmlNode | undefined;
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    // Text outside any element says nothing to rdf.ts; inside one, each piece is trimmed as fast-xml-parser does.
    if (current && lt !== i) current.text += text.slice(i, lt < 0 ? text.length : lt).trim();
    if (lt < 0) break;
    const next = text.charCodeAt(lt + 1);
    if (next === 0x3f /* ? */) {
      const end = text.indexOf('?>', lt + 2);
      if (end < 0) return null;
      i = end + 2;
    } else if (next === 0x2f /* / */) {
      END.lastIndex = lt;
      const m = END.exec(text);
      if (!m || !current || m[1] !== current.name) return null;
      open.pop();
      current = open.length > 0 ? open[open.length - 1] : undefined;
      i = END.lastIndex;
    } else {
      START.lastIndex = lt;
      const m = START.exec(text);
      if (!m) return null;
      const el: XmlNode = { name: m[1], attributes: m[2] ? attributesOf(m[2]) : null, children: [], text: '' };
      if (m[2] && !el.attributes) return null;
      (current ? current.children : root).push(el);
      if (!m[3]) {
        open.push(el);
        current = el;
      }
      i = START.lastIndex;
    }
  }
  return open.length === 0 ? root : null;
}

/** The attributes of a start tag, values trimmed; null for a duplicate or a key that would reach the prototype. */
function attributesOf(source: string): Record<string, string> | null {
  const attributes: Record<string, string> = {};
  ATTRIBUTE.lastIndex = 0;
  for (let m = ATTRIBUTE.exec(source); m; m = ATTRIBUTE.exec(source)) {
    const key = m[1];
    if (key === '__proto__' || Object.hasOwn(attributes, key)) return null;
    attributes[key] = (m[2] ?? m[3]).trim();
  }
  return attributes;
}
