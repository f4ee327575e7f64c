#!/usr/bin/env node
// npm run demo: the whole job against the built-in Squidex test server, no
// Squidex of your own needed. Creates a sample tree, runs the daemon on it,
// edits and adds files while it runs, then prints the asset-folder tree the
// server ended up with.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { createServer } from 'node:net';

const root = resolve(import.meta.dirname, '..');
const { startTestServer } = await import(join(root, 'dist/testserver/index.js'));

const server = await startTestServer({ app: 'demo', clientId: 'demo:sync', clientSecret: 'demo-secret' });
const work = mkdtempSync(join(tmpdir(), 'squidex-sync-demo-'));
const share = join(work, 'Design Share');
console.log(`\n▶ Squidex test server on ${server.url} (app "demo", client "demo:sync")`);
console.log(`▶ sample folder: ${share}\n`);

const put = (rel, data) => {
  const abs = join(share, rel);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, data);
};
put('Brand/logo.png', png(64, 64, [230, 70, 40]));
put('Brand/logo-dark.png', png(64, 64, [30, 30, 30]));
put(
  'Brand/icon.svg',
  '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><circle cx="16" cy="16" r="14" fill="#e64628"/></svg>\n',
);
put('Campaigns/2026/Spring/hero.png', png(320, 180, [90, 160, 220]));
put('Campaigns/2026/Spring/brief.pdf', pdf('Spring campaign brief'));
put('Campaigns/2026/Spring/copy.txt', 'Headline: Spring is here.\nBody: Fresh colours for a fresh season.\n');
put('Campaigns/2026/prices.csv', 'sku,price\nA-1,9.90\nB-2,19.90\n');
put('Docs/guidelines.md', '# Brand guidelines\n\nUse the logo on light backgrounds.\n');
put('Docs/.DS_Store', 'junk a Mac leaves behind (ignored)');
put('Docs/~$draft.docx', 'an Office lock file (ignored)');

// The page's fixed default port (7463) may be taken on this machine: the demo takes any free one.
const pagePort = await new Promise((res, rej) => {
  const srv = createServer()
    .once('error', rej)
    .listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
});
const config = join(work, 'sync.yaml');
writeFileSync(
  config,
  [
    'squidex:',
    `  url: ${server.url}`,
    '  app: demo',
    '  clientId: demo:sync',
    '  clientSecret: ${DEMO_SECRET}',
    'state: ./state/state.db',
    'mappings:',
    `  - local: "${share}"`,
    '    remote: Marketing',
    '    name: design',
    'sync:',
    '  stabilityMs: 500',
    '  debounceMs: 200',
    'http:',
    `  port: ${pagePort}`,
    '',
  ].join('\n'),
);

const daemon = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'start', '--config', config], {
  env: { ...process.env, DEMO_SECRET: 'demo-secret' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
daemon.stdout.on('data', (d) => {
  for (const line of String(d).split('\n')) {
    if (!line.trim()) continue;
    try {
      const l = JSON.parse(line);
      if (l.level >= 30 && l.msg) console.log(`  daemon: ${l.msg}`);
    } catch {
      console.log(`  daemon: ${line}`);
    }
  }
});

const live = () => server.inspect().assets.filter((a) => !a.deleted);
await until(() => live().length >= 8, 30_000, 'the first sync');
console.log(`\n▶ first sync done: ${live().length} assets. Now editing one file and adding another while the daemon runs…`);
const token = readFileSync(join(work, 'state', 'web-token'), 'utf8').trim();
console.log(`▶ the daemon's local page, while it runs: http://127.0.0.1:${pagePort}/?token=${token} (squidex-sync open prints it)\n`);
const heroId = live().find((a) => a.fileName === 'hero.png').id;
put('Campaigns/2026/Spring/hero.png', png(320, 180, [250, 200, 60]));
put('Campaigns/2026/Summer/teaser.png', png(120, 120, [40, 200, 120]));
await until(
  () => live().some((a) => a.fileName === 'teaser.png') && live().find((a) => a.id === heroId)?.fileVersion === 1,
  30_000,
  'the live changes',
);

daemon.kill('SIGTERM');
await new Promise((r) => daemon.on('close', r));

console.log('\n▶ asset folders and assets on the server:\n');
printTree(server.inspect());
const hero = live().find((a) => a.id === heroId);
console.log(`\nhero.png was replaced in place: same asset id ${hero.id}, fileVersion ${hero.fileVersion}.`);
console.log('.DS_Store and ~$draft.docx were ignored. Nothing was uploaded twice.');
console.log(`requests sent: ${server.inspect().counters.requests}, uploads: ${server.inspect().counters.uploads}\n`);
await server.close();
rmSync(work, { recursive: true, force: true });

function printTree(ins) {
  const folders = ins.folders.filter((f) => !f.deleted);
  const assets = ins.assets.filter((a) => !a.deleted);
  const walk = (parentId, indent) => {
    for (const f of folders.filter((x) => x.parentId === parentId).sort((a, b) => a.folderName.localeCompare(b.folderName))) {
      console.log(`${indent}📁 ${f.folderName}`);
      walk(f.id, `${indent}   `);
    }
    for (const a of assets.filter((x) => x.parentId === parentId).sort((a, b) => a.fileName.localeCompare(b.fileName))) {
      console.log(`${indent}📄 ${a.fileName}  (${a.mimeType}, ${a.fileSize} bytes)`);
    }
  };
  walk('00000000-0000-0000-0000-000000000000', '');
}

async function until(probe, ms, what) {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) {
      daemon.kill('SIGKILL');
      await server.close();
      throw new Error(`demo: timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A real PNG (solid colour, RGB), built with zlib: no image library needed. */
function png(w, h, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => [r, g, b]).flat())]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A minimal valid one-page PDF with a line of text. */
function pdf(text) {
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const stream = `BT /F1 14 Tf 20 70 Td (${text}) Tj ET`;
  objs[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  let out = '%PDF-1.4\n';
  const offsets = [];
  objs.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return out;
}
