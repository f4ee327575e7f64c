/**
 * Squidex.Text SlugifyExtensions.Slugify as AssetSlug uses it ('.' preserved): letters and digits of
 * any script are kept lower-cased, German umlauts become two letters, other Latin diacritics lose
 * their accent, and every other run becomes one '-' (never first or last).
 * The Greek, Cyrillic and Georgian transliterations of the real table are not reproduced.
 */
const SPECIAL: Record<string, string> = {
  ä: 'ae',
  ö: 'oe',
  ü: 'ue',
  Ä: 'ae',
  Ö: 'oe',
  Ü: 'ue',
  ß: 'ss',
  ẞ: 'ss',
  æ: 'ae',
  Æ: 'ae',
  œ: 'oe',
  Œ: 'oe',
  ø: 'o',
  Ø: 'o',
  đ: 'dj',
  Đ: 'dj',
  ł: 'l',
  Ł: 'l',
  þ: 'th',
  Þ: 'th',
  ð: 'd',
  Ð: 'd',
  ı: 'i',
  ƒ: 'f',
  ª: 'a',
  º: 'o',
  元: 'yuan',
  円: 'yen',
};

function replacement(ch: string): string {
  const special = SPECIAL[ch];
  if (special) return special;
  const base = ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
  return (base.length === 1 && /[A-Za-z]/.test(base) ? base : ch).toLowerCase();
}

export function slugify(value: string, preserve: ReadonlySet<string> = new Set(['.'])): string {
  let out = '';
  let last = '';
  // Index by UTF-16 code unit like .NET's char loop, so astral symbols (emoji) are separators.
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (preserve.has(ch)) {
      out += ch;
    } else if (/[\p{L}\p{N}]/u.test(ch)) {
      last = ch;
      out += replacement(ch);
    } else if (i < value.length - 1 && i > 0 && last !== '-') {
      last = '-';
      out += '-';
    }
  }
  return out.replace(/^-+|-+$/g, '');
}
