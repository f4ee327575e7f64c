import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every link in the repository resolves inside it: Markdown links, paths
 * quoted in Markdown (`docs/x.md`, `../y.md`) and paths named in the files
 * under config/ (the unit file and the pm2 file are read on servers, far from
 * any web page that could explain a dead reference).
 */
const ROOT = resolve(import.meta.dirname, '../..');
const SKIP = new Set(['node_modules', 'dist', '.git']);

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const abs = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(abs, keep));
    else if (keep(e.name)) out.push(abs);
  }
  return out;
}

/** A repository path as prose names it: under one of the top folders, or going up with ../. */
const REPO_PATH = /^(?:\.\.\/)+[\w./-]+$|^(?:docs|src|config|scripts|test)\/[\w./-]*\.\w+$/;

/** Targets a file refers to, each with how to resolve it. */
function references(file: string, text: string): Array<{ target: string; from: 'file' | 'root' }> {
  const refs: Array<{ target: string; from: 'file' | 'root' }> = [];
  if (file.endsWith('.md')) {
    const prose = text.replace(/^```[\s\S]*?^```/gm, ''); // commands in code blocks are not links
    for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)|^\s*\[[^\]]+\]:\s*(\S+)/gm))
      refs.push({ target: m[1] ?? m[2], from: 'file' });
    for (const m of prose.matchAll(/`([^`\s]+)`/g)) {
      if (!REPO_PATH.test(m[1])) continue;
      refs.push({ target: m[1], from: m[1].startsWith('../') ? 'file' : 'root' });
    }
  } else {
    for (const m of text.matchAll(/(?<![\w/.-])((?:\.\.\/)*(?:docs|src|config|scripts|test)\/[\w./-]*\.\w+)/g))
      refs.push({ target: m[1], from: 'root' });
  }
  return refs.filter((r) => !/^[a-z][a-z0-9+.-]*:/i.test(r.target) && !r.target.startsWith('#'));
}

/** Why a reference does not resolve inside the repository, or null when it does. */
function brokenReason(root: string, file: string, ref: { target: string; from: 'file' | 'root' }): string | null {
  const path = decodeURIComponent(ref.target.split('#')[0].split('?')[0]);
  if (path === '') return null;
  const abs = resolve(ref.from === 'root' ? root : dirname(file), path);
  const rel = relative(root, abs);
  if (rel.startsWith('..') || rel.startsWith(sep)) return `points outside the repository (${rel})`;
  return existsSync(abs) ? null : 'does not exist';
}

describe('links in the repository', () => {
  it('finds the kinds of reference it checks', () => {
    const md =
      'See [the docs](docs/a.md "title"), `src/b.ts`, `../../shared/c.md`,\n[x]: ./d.md\n```sh\n[not](e.md)\n```\nbut not `./sync.yaml`, [web](https://x.io) or [top](#top).';
    expect(references('/r/README.md', md).map((r) => `${r.from}:${r.target}`)).toEqual([
      'file:docs/a.md',
      'file:./d.md',
      'root:src/b.ts',
      'file:../../shared/c.md',
    ]);
    expect(references('/r/config/x.service', '# Install (see docs/service.md):').map((r) => r.target)).toEqual(['docs/service.md']);
    expect(brokenReason(ROOT, join(ROOT, 'src/testserver/README.md'), { target: '../../../shared/x.md', from: 'file' })).toMatch(/outside/);
    expect(brokenReason(ROOT, join(ROOT, 'config/squidex-sync.service'), { target: 'docs/no-such-page.md', from: 'root' })).toBe(
      'does not exist',
    );
  });

  it('every relative link in *.md and in config/ resolves to a file inside the repository', () => {
    const files = [...filesUnder(ROOT, (n) => n.endsWith('.md')), ...filesUnder(join(ROOT, 'config'), () => true)];
    expect(files.length).toBeGreaterThan(5);
    const broken: string[] = [];
    for (const file of files) {
      for (const ref of references(file, readFileSync(file, 'utf8'))) {
        const why = brokenReason(ROOT, file, ref);
        if (why) broken.push(`${relative(ROOT, file)}: ${ref.target} ${why}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
