// Rewrites tsc's dist/cli/main.js as a bundle (the entry and its chunks,
// dist/cli/chunk-*.js) and dist/watch/walkworker.js as one file.
//
// Why: Node 20 has no compile cache for ES modules, and `once` loaded ~370
// files (our ~170 modules, yaml's 84, …) before its first request: about a
// fifth of a small run's time, paid again by every command (`status`, `check`)
// and by each restart of the daemon. Each of the commands' dynamic imports
// becomes a chunk (esbuild's splitting), so a command reads a few files and
// compiles only what it can run: `--version` stays as quick as before.
//
// Run after tsc (npm run build, npm test). Bundling is only a speed-up: tsc's
// unbundled dist behaves the same, so a tree built without this still works.
// The chunks sit beside main.js: the modules that name files relative to
// themselves (the walk thread's script, package.json) find them there too.
//
// Left outside the bundle, loaded from node_modules as before:
// - native addons (better-sqlite3, @parcel/watcher);
// - undici: src/squidex/undici.ts requires two of its files by path, past its index;
// - pino and pino-pretty: pino's transports start worker threads from their own files;
// - exifr: imported only when a mapping reads embedded metadata.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const dist = join(import.meta.dirname, '..', 'dist');
const MARK = '// squidex-sync: bundled by scripts/bundle.mjs';
const EXTERNAL = ['better-sqlite3', '@parcel/watcher', 'undici', 'pino', 'pino-pretty', 'exifr'];
// The bundled CommonJS packages (yaml, …) require Node's own modules; an ES module has no `require`.
const BANNER = `${MARK}\nimport { createRequire as __bundleRequire } from 'node:module';\nconst require = __bundleRequire(import.meta.url);`;

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  external: EXTERNAL,
  banner: { js: BANNER },
  // Reads tsc's maps, so a stack traced with --enable-source-maps still names src/*.ts.
  sourcemap: 'linked',
  allowOverwrite: true,
  logLevel: 'warning',
};

const bundled = (file) => readFileSync(file, 'utf8').includes(MARK);

const cli = join(dist, 'cli');
if (!bundled(join(cli, 'main.js'))) {
  // Chunks of an earlier bundle: their names change with their contents.
  for (const f of readdirSync(cli)) if (f.startsWith('chunk-')) rmSync(join(cli, f));
  await build({ ...common, entryPoints: [join(cli, 'main.js')], outdir: cli, splitting: true, chunkNames: 'chunk-[hash]' });
}

const walker = join(dist, 'watch', 'walkworker.js');
if (!bundled(walker)) await build({ ...common, entryPoints: [walker], outfile: walker });
