import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/index.js';

// config/io.squidex-sync.plist, the macOS launchd agent. No launchd here: the
// file is parsed as the XML property list launchd reads, its keys checked, and
// its command run by sh with a stand-in daemon.

const FILE = new URL('../../config/io.squidex-sync.plist', import.meta.url);
const TEXT = readFileSync(FILE, 'utf8');

type Plist = string | number | boolean | Plist[] | { [key: string]: Plist };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * A strict reader for Apple's XML property list format (plist 1.0): the
 * declaration and DOCTYPE, then one value of dict, array, string, integer,
 * true or false. Anything else, or a tag left open, throws.
 */
function parsePlist(xml: string): Plist {
  const body =
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\s*<!DOCTYPE plist PUBLIC "-\/\/Apple\/\/DTD PLIST 1\.0\/\/EN" "http:\/\/www\.apple\.com\/DTDs\/PropertyList-1\.0\.dtd">\s*([\s\S]*)$/.exec(
      xml,
    )?.[1];
  if (body === undefined) throw new Error('no XML declaration and plist DOCTYPE at the top');
  const tokens = [...body.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<(\/?)([A-Za-z]+)(?:\s+version="1\.0")?\s*(\/?)>|([^<]+)/g)];
  if (tokens.map((t) => t[0]).join('') !== body.replace(/<!--[\s\S]*?-->/g, '')) throw new Error('characters outside any tag');
  let i = 0;
  const next = (): RegExpMatchArray => {
    while (i < tokens.length && tokens[i][4] !== undefined && tokens[i][4].trim() === '') i++;
    if (i >= tokens.length) throw new Error('unexpected end');
    return tokens[i++];
  };
  const text = (tag: string): string => {
    let s = '';
    while (tokens[i]?.[4] !== undefined) s += tokens[i++][4];
    const close = tokens[i++];
    if (close?.[1] !== '/' || close[2] !== tag) throw new Error(`<${tag}> not closed`);
    return s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ENTITIES[e]);
  };
  const value = (t: RegExpMatchArray): Plist => {
    const [, closing, tag, selfClosing, chars] = t;
    if (chars !== undefined) throw new Error(`text where a value belongs: ${chars.trim()}`);
    if (closing) throw new Error(`unexpected </${tag}>`);
    if (tag === 'true' || tag === 'false') {
      if (!selfClosing) throw new Error(`<${tag}> must be <${tag}/>`);
      return tag === 'true';
    }
    if (tag === 'string') return text('string');
    if (tag === 'integer') {
      const s = text('integer');
      if (!/^-?\d+$/.test(s)) throw new Error(`integer ${s}`);
      return Number(s);
    }
    if (tag === 'array') {
      const out: Plist[] = [];
      for (let n = next(); !(n[1] === '/' && n[2] === 'array'); n = next()) out.push(value(n));
      return out;
    }
    if (tag === 'dict') {
      const out: Record<string, Plist> = {};
      for (let n = next(); !(n[1] === '/' && n[2] === 'dict'); n = next()) {
        if (n[2] !== 'key' || n[1]) throw new Error(`<${n[2]}> where a <key> belongs`);
        const key = text('key');
        if (key in out) throw new Error(`key ${key} twice`);
        out[key] = value(next());
      }
      return out;
    }
    throw new Error(`<${tag}> is not a plist value`);
  };
  const open = next();
  if (open[2] !== 'plist' || open[1]) throw new Error('no <plist> element');
  const root = value(next());
  const close = next();
  if (close[1] !== '/' || close[2] !== 'plist') throw new Error('<plist> not closed');
  if (i < tokens.length && tokens.slice(i).some((t) => t[0].trim() !== '')) throw new Error('content after </plist>');
  return root;
}

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('launchd agent', () => {
  const agent = parsePlist(TEXT) as Record<string, Plist>;

  it('is a well-formed property list, and the reader refuses broken ones (control)', () => {
    expect(typeof agent).toBe('object');
    expect(() => parsePlist(TEXT.replace('<true/>', '<true>'))).toThrow();
    expect(() => parsePlist(TEXT.replace('</dict>\n</plist>', '</plist>'))).toThrow();
    expect(() => parsePlist(TEXT.replace('<key>RunAtLoad</key>', '<key>RunAtLoad</key><key>x</key>'))).toThrow();
  });

  it('is labelled as its file is named, starts at login, restarts after a crash but not after a clean stop', () => {
    expect(agent.Label).toBe('io.squidex-sync');
    expect(agent.RunAtLoad).toBe(true);
    expect(agent.KeepAlive).toEqual({ SuccessfulExit: false });
    expect(agent.ThrottleInterval).toBeGreaterThanOrEqual(10);
    // SIGKILL only after the drain had its time.
    expect(agent.ExitTimeOut).toBeGreaterThan(DEFAULTS.sync.shutdownTimeoutMs / 1000);
    const env = agent.EnvironmentVariables as Record<string, string>;
    for (const binDir of ['/opt/homebrew/bin', '/usr/local/bin', '/usr/bin']) expect(env.PATH.split(':')).toContain(binDir);
    expect(Object.keys(agent).sort()).toEqual([
      'EnvironmentVariables',
      'ExitTimeOut',
      'KeepAlive',
      'Label',
      'ProgramArguments',
      'RunAtLoad',
      'ThrottleInterval',
    ]);
  });

  it('runs `squidex-sync start` with the config, the secret from the env file, and the log, as sh runs it', () => {
    const args = agent.ProgramArguments as string[];
    expect(args.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(args).toHaveLength(3);
    dir = mkdtempSync(join(tmpdir(), 'launchd-'));
    const home = join(dir, 'home');
    const support = join(home, 'Library', 'Application Support', 'squidex-sync');
    mkdirSync(support, { recursive: true });
    mkdirSync(join(home, 'Library', 'Logs'));
    writeFileSync(join(support, 'env'), 'SQUIDEX_CLIENT_SECRET=s3cret\n');
    // A stand-in for the installed binary, found on the agent's PATH, that says how it was started.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'squidex-sync'), '#!/bin/sh\necho "cwd=$PWD secret=$SQUIDEX_CLIENT_SECRET args=$*"\n');
    chmodSync(join(bin, 'squidex-sync'), 0o755);
    const env = agent.EnvironmentVariables as Record<string, string>;
    const r = spawnSync('/bin/sh', args.slice(1), {
      env: { HOME: home, NODE_ENV: env.NODE_ENV, PATH: `${bin}:${env.PATH}` },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const log = readFileSync(join(home, 'Library', 'Logs', 'squidex-sync.log'), 'utf8');
    expect(log).toBe(`cwd=${support} secret=s3cret args=start --config ${support}/sync.yaml\n`);
  });
});
