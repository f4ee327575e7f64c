import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a CLI process loaded: a preload (`NODE_OPTIONS=--import`) writes the
 * CommonJS module cache when the process exits. Every npm package the daemon
 * uses is CommonJS, so this names each package file it loaded.
 */
export class LoadedModules {
  readonly #out: string;
  readonly #preload: string;

  constructor(dir: string) {
    this.#out = join(dir, 'loaded.json');
    this.#preload = join(dir, 'loaded-preload.mjs');
    writeFileSync(
      this.#preload,
      [
        "import { createRequire } from 'node:module';",
        "import { writeFileSync } from 'node:fs';",
        'const cache = createRequire(import.meta.url).cache;',
        `process.on('exit', () => writeFileSync(${JSON.stringify(this.#out)}, JSON.stringify(Object.keys(cache))));`,
        '',
      ].join('\n'),
    );
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
