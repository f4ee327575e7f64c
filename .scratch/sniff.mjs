import { readFileSync } from 'node:fs';
import { MetadataSniffer } from '../dist/metadata/index.js';
for (const f of ['iptc.jpg', 'xmp.png', 'xmp.tif', 'layers.psd', 'shoot.xmp', 'shoot.cr2']) {
  const buf = readFileSync('test/fixtures/metadata/' + f);
  const s = new MetadataSniffer(f === 'shoot.xmp' ? 'x.svg' : f, buf.length);
  // feed in 7-byte chunks to exercise boundaries
  for (let i = 0; i < buf.length; i += 7) s.feed(buf.subarray(i, i + 7), i);
  console.log(f, s.wanted, await s.result());
}
