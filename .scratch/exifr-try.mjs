import exifr from 'exifr';
import { readFileSync } from 'node:fs';
for (const f of ['iptc.jpg', 'xmp.png', 'xmp.tif']) {
  const buf = readFileSync('test/fixtures/metadata/' + f);
  const opts = { tiff: false, ifd0: false, exif: false, gps: false, interop: false, ifd1: false, jfif: false, ihdr: false, icc: false,
    xmp: { parse: false }, iptc: true, mergeOutput: false, translateValues: true, reviveValues: true };
  try { console.log(f, await exifr.parse(buf, opts)); } catch (e) { console.log(f, 'ERR', e.message); }
  const o2 = { ...opts, tiff: true, ifd0: true };
  try { console.log(f, 'tiff', await exifr.parse(buf, o2)); } catch (e) { console.log(f, 'ERR', e.message); }
}
