import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, World } from '../support/world.js';

/**
 * `once` on a terminal: the progress bar and log lines share it. util-linux
 * `script` gives the command a pseudo-terminal, and what it printed is
 * replayed line by line the way a terminal shows it.
 */
const SCRIPT = '/usr/bin/script';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** Runs `cmd` on a pseudo-terminal; resolves with everything it wrote (stdout and stderr, as on a screen). */
function onTerminal(cmd: string, env: NodeJS.ProcessEnv, cwd: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, ['-qec', cmd, '/dev/null'], {
      env: { ...env, COLUMNS: '200', LINES: '50' },
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} did not finish in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** The lines a terminal ends up showing: carriage returns, "column 1" and "erase line" applied, other escapes dropped. */
function screenLines(raw: string): string[] {
  const lines: string[] = [];
  let line = '';
  let col = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\x1b') {
      const m = /^\x1b(?:\[([?\d;]*)([A-Za-z])|[78])/.exec(raw.slice(i, i + 16));
      if (!m) continue;
      i += m[0].length - 1;
      if (m[2] === 'G') col = Math.max(0, Number(m[1] || 1) - 1);
      else if (m[2] === 'K' && m[1] === '2') line = '';
      else if (m[2] === 'K') line = line.slice(0, col);
      continue;
    }
    if (c === '\r') col = 0;
    else if (c === '\n') {
      lines.push(line);
      line = '';
      col = 0;
    } else {
      line = line.slice(0, col) + c + line.slice(col + 1);
      col += 1;
    }
  }
  if (line) lines.push(line);
  return lines;
}

describe('once on a terminal', () => {
  it('prints log lines above the progress bar, never into it, and the summary after both', async () => {
    // util-linux's script (Debian's essential bsdutils) makes the pseudo-terminal; never skipped in CI.
    if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: apt-get install bsdutils`);
    world = await World.create({ server: { maxUploadBytes: 2000 } });
    const w = world;
    for (let i = 0; i < 40; i++) {
      w.write(`big/b${i}.bin`, Buffer.alloc(3000, i)); // refused (413): one ERROR line each
      w.write(`small/s${i}.txt`, `small ${i}`);
    }
    const raw = await onTerminal(`${process.execPath} ${CLI} once --config ${w.configPath}`, w.env(), w.dir);
    const lines = screenLines(raw);
    const errors = lines.filter((l) => l.includes('ERROR'));
    expect(errors.length, raw.slice(-3000)).toBeGreaterThanOrEqual(40);
    for (const l of errors) expect(l).toMatch(/^\[\d\d:\d\d:\d\d\] ERROR: failed: upload of "b\d+\.bin"/);
    for (const l of lines.filter((x) => x.includes('ETA'))) expect(l).toMatch(/^\S+ \d+\/\d+ files \| .* ETA \S+$/);
    const summary = lines.indexOf('summary:');
    expect(summary, raw.slice(-3000)).toBeGreaterThan(lines.lastIndexOf(errors.at(-1)!));
    expect(lines.slice(summary + 1).some((l) => /^ {2}uploaded \(new\)\s+40$/.test(l))).toBe(true);
  });
});
