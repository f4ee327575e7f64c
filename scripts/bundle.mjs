// Rewrites tsc's dist/cli/main.js and dist/watch/walkworker.js as one file each.
//
// Why: Node 20 has no compile cache for ES modules, and `once` loaded ~370
// files (our ~170 modules, yaml's 84, …) before its first request: about a
// fifth of a small run's time, paid again by every command (`status`, `check`)
// and by each restart of the daemon. One file is read and compiled once;
// esbuild keeps each module's top level lazy behind the dynamic imports it
// had, so what a command never uses still never runs.
//
// Run after tsc (npm run build, npm test). Bundling is only a speed-up: tsc's
// unbundled dist behaves the same, so a tree built without this still works.
//
// Left outside the bundle, loaded from node_modules as before:
// - native addons (better-sqlite3, @parcel/watcher);
// - undici: src/squidex/undici.ts requires two of its files by path, past its index;
// - pino and pino-pretty: pino's transports start worker threads from their own files;
// - exifr: imported only when a mapping reads embedded metadata.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const dist = join(import.meta.dirname, '..', 'dist');
const MARK = '// squidex-sync: bundled by scripts/bundle.mjs';
const EXTERNAL = ['better-sqlite3', '@parcel/watcher', 'undici', 'pino', 'pino-pretty', 'exifr'];
// The bundled CommonJS packages (yaml, …) require Node's own modules; an ES module has no `require`.
const BANNER = `${MARK}\nimport { createRequire as __bundleRequire } from 'node:module';\nconst require = __bundleRequire(import.meta.url);`;

for (const entry of ['cli/main.js', 'watch/walkworker.js']) {
  const file = join(dist, entry);
  const text = readFileSync(file, 'utf8');
  if (text.includes(MARK)) continue; // bundled already: tsc has not written this file since
  const out = await build({
    entryPoints: [file],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    external: EXTERNAL,
    banner: { js: BANNER },
    // Reads tsc's maps, so a stack traced with --enable-source-maps still names src/*.ts.
    sourcemap: 'linked',
    outfile: file,
    write: false,
    logLevel: 'warning',
  });
  for (const f of out.outputFiles) writeFileSync(f.path, f.contents);
}
