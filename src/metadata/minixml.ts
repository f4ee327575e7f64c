import type { XmlNode } from './rdf.js';

/**
 * The XML that XMP packets are made of (elements, attributes, text,
 * processing instructions), parsed into the tree rdf.ts reads, at a fraction
 * of the cost of loading and warming up fast-xml-parser in a fresh process.
 * Anything else — comments, CDATA, DTDs, names outside ASCII, a duplicate
 * attribute, a tag that does not close — returns null, and the caller hands
 * the packet to fast-xml-parser: this reader never guesses.
 */
export function parseMiniXml(text: string): XmlNode[] | null {
  const root: XmlNode[] = [];
  const open: XmlNode[] = [];
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const current = open.length > 0 ? open[open.length - 1] : undefined;
    // Text outside any element says nothing to rdf.ts; inside one, each piece is trimmed as fast-xml-parser does.
    if (current && lt !== i) current.text += text.slice(i, lt < 0 ? text.length : lt).trim();
    if (lt < 0) break;
    const next = text.charCodeAt(lt + 1);
    if (next === 0x3f /* ? */) {
      const end = text.indexOf('?>', lt + 2);
      if (end < 0) return null;
      i = end + 2;
    } else if (next === 0x2f /* / */) {
      const nameEnd = nameAt(text, lt + 2);
      const gt = spaces(text, nameEnd);
      const top = open.pop();
      if (
        nameEnd === lt + 2 ||
        !top ||
        text.charCodeAt(gt) !== 0x3e ||
        !text.startsWith(top.name, lt + 2) ||
        top.name.length !== nameEnd - lt - 2
      )
        return null;
      i = gt + 1;
    } else {
      const el: XmlNode = { name: '', attributes: null, children: [], text: '' };
      const end = startTag(text, lt + 1, el);
      if (end < 0) return null;
      (current ? current.children : root).push(el);
      if (text.charCodeAt(end - 2) !== 0x2f /* / */) open.push(el);
      i = end;
    }
  }
  return open.length === 0 ? root : null;
}

/** Fills `el` from the tag at `from` (just past its `<`); returns the index past its `>`, or -1. */
function startTag(text: string, from: number, el: XmlNode): number {
  let at = nameAt(text, from);
  if (at === from) return -1;
  el.name = text.slice(from, at);
  for (;;) {
    const after = spaces(text, at);
    const spaced = after > at;
    at = after;
    const c = text.charCodeAt(at);
    if (c === 0x3e /* > */) return at + 1;
    if (c === 0x2f /* / */) return text.charCodeAt(at + 1) === 0x3e ? at + 2 : -1;
    if (!spaced) return -1;
    const keyEnd = nameAt(text, at);
    if (keyEnd === at) return -1;
    const key = text.slice(at, keyEnd);
    const eq = spaces(text, keyEnd);
    if (text.charCodeAt(eq) !== 0x3d /* = */) return -1;
    const open = spaces(text, eq + 1);
    const quote = text[open];
    if (quote !== '"' && quote !== "'") return -1;
    const close = text.indexOf(quote, open + 1);
    if (close < 0) return -1;
    const value = text.slice(open + 1, close);
    if (value.includes('<') || key === '__proto__') return -1;
    el.attributes ??= {};
    const attributes = el.attributes;
    if (Object.hasOwn(attributes, key)) return -1;
    attributes[key] = value.trim();
    at = close + 1;
  }
}

/** The end of an ASCII XML name starting at `from` (`from` itself when there is none). */
function nameAt(text: string, from: number): number {
  let at = from;
  for (; at < text.length; at++) {
    const c = text.charCodeAt(at);
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
    if (letter) continue;
    const more = (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x3a || c === 0x2d;
    if (!more || at === from) break;
  }
  return at;
}

function spaces(text: string, from: number): number {
  let at = from;
  for (; at < text.length; at++) {
    const c = text.charCodeAt(at);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
  }
  return at;
}
