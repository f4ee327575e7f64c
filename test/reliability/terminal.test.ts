/**
 * Issue 18 §5: file names and server texts written by others reach the
 * operator's terminal only escaped. A name holding ESC sequences must not
 * set the clipboard (OSC 52), clear the screen or fake a line in any text
 * output; JSON output carries the name exactly.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { printable, printableDeep, printableLines } from '../../src/lib/printable.js';
import { ROOT, World } from '../support/world.js';
import { FAST_RETRY } from '../support/reliability.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** OSC 52 (set the clipboard to "evil"), ended by BEL. */
const CLIPBOARD = 'clip\x1b]52;c;ZXZpbA==\x07.txt';
/** Clear the screen, home the cursor, then a C1 CSI (0x9B) that some terminals take for ESC [. */
const CLEAR = 'big\x1b[2J\x1b[H\x9b31m\x7f.bin';
/** A newline and a carriage return that would fake a line of output. */
const FAKE = 'dry\r\n  everything is in sync\x1b[1A.txt';

/** Any C0 control but the line feeds our own layout uses, DEL or C1. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

function expectSafe(text: string, label: string): void {
  const at = text.search(RAW_CONTROL);
  expect(at, `${label} has a raw control character at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 20), at + 20))}`).toBe(-1);
}

describe('printable', () => {
  it('escapes C0, DEL and C1 and nothing else', () => {
    expect(printable('a\x1b[31mb\x07c\x00\x7f\x80\x9b\x9fé日本\\')).toBe('a\\x1B[31mb\\x07c\\x00\\x7F\\x80\\x9B\\x9Fé日本\\');
    expect(printable('one\ntwo\r\tthree')).toBe('one\\ntwo\\r\\tthree');
    expect(printableLines('one\ntwo\x1b')).toBe('one\ntwo\\x1B');
    expect(printableDeep({ a: ['x\x1b', 3, null, true], b: { c: '\x9b' } })).toEqual({ a: ['x\\x1B', 3, null, true], b: { c: '\\x9B' } });
    // A stack keeps its own line breaks, not those of its message.
    const e = { message: 'bad\nname', stack: 'Error: bad\nname\n    at x (y.js:1:1)' };
    expect(printableDeep(e).stack).toBe('Error: bad\\nname\n    at x (y.js:1:1)');
  });
});

describe('text output escapes what others named', () => {
  it('once, status, status --json and once --dry-run with ESC sequences in file names and error texts', { timeout: 120_000 }, async () => {
    // Without tus, so the refused file's error text (which quotes its name) is what status shows.
    world = await World.create({ server: { maxUploadBytes: 256 * 1024, tus: false }, sync: { ...FAST_RETRY, moveWindowMs: 0 } });
    const w = world;
    w.write(CLIPBOARD, 'a synced file, deleted later');
    w.write(CLEAR, Buffer.alloc(300 * 1024, 1)); // over the limit: fails, its name in the error text
    const first = await w.run(['once'], 60_000);
    expect(first.code, first.stdout + first.stderr).toBe(1);
    expectSafe(first.stdout, 'once stdout');
    expectSafe(first.stderr, 'once stderr');
    expect(first.stdout).toContain('big\\x1B[2J\\x1B[H\\x9B31m\\x7F.bin');

    // Gone locally under deletes: keep: status lists it as kept on the server.
    w.rm(CLIPBOARD);
    expect((await w.run(['once'], 60_000)).code).toBe(1);

    const st = await w.run(['status'], 30_000);
    expect(st.code).toBe(1);
    expectSafe(st.stdout, 'status');
    expect(st.stdout).toContain('clip\\x1B]52;c;ZXZpbA==\\x07.txt');
    expect(st.stdout).toContain('big\\x1B[2J\\x1B[H\\x9B31m\\x7F.bin');

    // JSON stays exact: a script gets the real name back (DEL and C1 as \u escapes, which JSON.stringify leaves raw).
    const jsonText = (await w.run(['status', '--json'], 30_000)).stdout;
    expectSafe(jsonText, 'status --json');
    const json = JSON.parse(jsonText) as {
      failed: Array<{ path: string; error: string }>;
      kept: Array<{ path: string }>;
    };
    expect(json.failed.map((f) => f.path)).toEqual([CLEAR]);
    expect(json.failed[0].error).toContain(CLEAR);
    expect(json.kept.map((k) => k.path)).toEqual([CLIPBOARD]);

    w.write(FAKE, 'planned, not sent');
    const dry = await w.run(['once', '--dry-run'], 30_000);
    expect(dry.code, dry.stderr).toBe(0);
    expectSafe(dry.stdout, 'dry run');
    expect(dry.stdout).toContain('dry\\r\\n  everything is in sync\\x1B[1A.txt');
  });

  it('check prints a mapping folder and a remote path with ESC sequences escaped', { timeout: 60_000 }, async () => {
    world = await World.create({ remote: 'Design/\x1b[31mRed' });
    const w = world;
    const local = 'sh\x1b]0;owned\x07are';
    mkdirSync(join(w.dir, local));
    const config = w.config();
    (config.mappings as Array<Record<string, unknown>>)[0].local = `./${local}`;
    w.writeConfig(config);
    const res = await w.run(['check'], 30_000);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expectSafe(res.stdout, 'check');
    expect(res.stdout).toContain('sh\\x1B]0;owned\\x07are');
    expect(res.stdout).toContain('Design/\\x1B[31mRed');
  });

  it('pretty log lines escape the message, its arguments, fields and the error', { timeout: 30_000 }, async () => {
    // The pretty logger writes to fd 1 from pino's transport thread: run it in a child to read that.
    const script = `
      const { createLogger } = await import(${JSON.stringify(join(ROOT, 'dist/lib/log.js'))});
      const log = createLogger({ pretty: true, level: 'info' });
      log.warn({ path: ${JSON.stringify(CLEAR)}, err: new Error(${JSON.stringify(`cannot read ${CLIPBOARD}\nFAKE LINE`)}) }, 'skipped %s', ${JSON.stringify(FAKE)});
      log.flush();
      setTimeout(() => process.exit(0), 500);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    clearTimeout(timer);
    expect(code, out).toBe(0);
    // Colours (ESC [ n m) are the logger's own; nothing else may be raw.
    expectSafe(out.replace(/\x1b\[\d+(;\d+)*m/g, ''), 'pretty log');
    expect(out).toContain('skipped dry\\r\\n  everything is in sync\\x1B[1A.txt');
    expect(out).toContain('big\\x1B[2J\\x1B[H\\x9B31m\\x7F.bin');
    expect(out).toContain('cannot read clip\\x1B]52;c;ZXZpbA==\\x07.txt\\nFAKE LINE');
  });
});
