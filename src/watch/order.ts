/**
 * The one order in which a rescan meets paths, on both sides of its merge:
 * Unicode code point order of the whole relative path, which is the byte order
 * of its UTF-8 spelling and so SQLite's BINARY collation of the files table's
 * primary key. JavaScript's `<` compares UTF-16 code units instead, and differs
 * where a character above U+FFFF (two surrogates) meets one in U+E000..U+FFFF.
 *
 * A walk yields that order when each folder's entries are sorted by name, a
 * folder's name taken with its '/' ('a-b' < 'a.b' < 'a/…' < 'a0'), and a folder
 * is walked to its end where its name falls: every path under 'a/' sorts
 * between the siblings before and after 'a/'.
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800..U+DFFF) encode code points above every BMP character.
    if (x >= 0xd800 && y >= 0xd800) return codePointRank(x) - codePointRank(y);
    return x - y;
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}
