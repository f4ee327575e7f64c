/**
 * Squidex's asset slug rule (Squidex.Text SlugifyExtensions, dots kept):
 * lower case, runs of anything but letters, digits and dots become one '-'.
 * "My Image.PNG" → "my-image.png".
 */
export function slugify(fileName: string): string {
  return fileName
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}.]+/gu, '-')
    .replace(/^-+|-+$/g, '');
}
