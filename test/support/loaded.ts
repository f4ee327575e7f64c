import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What a CLI process loaded: a preload (`NODE_OPTIONS=--import`) writes the
 * CommonJS module cache when the process exits (every npm package the daemon
 * uses is CommonJS), and a hook on the ES module loader lists each ES module
 * as it loads (ours, in dist/), in worker threads too.
 */
export class LoadedModules {
  readonly #out: string;
  readonly #esm: string;
  readonly #preload: string;

  constructor(dir: string) {
    this.#out = join(dir, 'loaded.json');
    this.#esm = join(dir, 'loaded-esm.txt');
    this.#preload = join(dir, 'loaded-preload.mjs');
    // The hook runs on the loader's own thread: it appends each module as it comes.
    const hook = [
      "import { appendFileSync } from 'node:fs';",
      'export async function load(url, context, next) {',
      `  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(this.#esm)}, url + '\\n');`,
      '  return next(url, context);',
      '}',
    ].join('\n');
    writeFileSync(
      this.#preload,
      [
        "import { createRequire, register } from 'node:module';",
        "import { writeFileSync } from 'node:fs';",
        `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`,
        'const cache = createRequire(import.meta.url).cache;',
        `process.on('exit', () => writeFileSync(${JSON.stringify(this.#out)}, JSON.stringify(Object.keys(cache))));`,
        '',
      ].join('\n'),
    );
  }

  /** Paths of the ES modules loaded from under `root` (relative to it), after the process exited. */
  esModulesUnder(root: string): string[] {
    if (!existsSync(this.#esm)) return [];
    const prefix = root.endsWith('/') ? root : `${root}/`;
    return readFileSync(this.#esm, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((u) => fileURLToPath(u))
      .filter((f) => f.startsWith(prefix))
      .map((f) => f.slice(prefix.length));
  }

  /** `base` with the preload added to NODE_OPTIONS. */
  env(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const opts = [base.NODE_OPTIONS, `--import=${this.#preload}`].filter(Boolean).join(' ');
    return { ...base, NODE_OPTIONS: opts };
  }

  /** Paths of the loaded package files, as `package/file` (e.g. `undici/index.js`), after the process exited. */
  packageFiles(): string[] {
    const files = JSON.parse(readFileSync(this.#out, 'utf8')) as string[];
    return files.flatMap((f) => {
      const m = /node_modules[\\/](.+)$/.exec(f);
      return m ? [m[1].replaceAll('\\', '/')] : [];
    });
  }
}
