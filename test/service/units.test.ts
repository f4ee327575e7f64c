import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missing } from '../support/capability.js';

const UNIT = readFileSync(new URL('../../config/squidex-sync.service', import.meta.url), 'utf8');

/** systemd-analyze, installed from Debian's systemd package when missing and we are root; else why not. */
function findSystemdAnalyze(): { ok: true } | { ok: false; reason: string } {
  const has = () => !spawnSync('systemd-analyze', ['--version']).error;
  if (has()) return { ok: true };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'systemd-analyze is missing and installing it needs root' };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'systemd'], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { env });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'systemd'], { env, encoding: 'utf8' });
  }
  if (has()) return { ok: true };
  return { ok: false, reason: `apt-get install systemd failed: ${(r.error?.message ?? r.stderr ?? '').slice(-300)}` };
}

/** The effective (uncommented) value of a directive; the last one wins, as in systemd. */
function directive(name: string): string | undefined {
  const values = UNIT.split('\n').filter((l) => l.startsWith(`${name}=`));
  return values.at(-1)?.slice(name.length + 1);
}

describe('systemd unit', () => {
  let dir: string;
  let tool: ReturnType<typeof findSystemdAnalyze>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'unit-'));
    tool = findSystemdAnalyze();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * `systemd-analyze verify` checks that ExecStart names an existing executable,
   * and /usr/local/bin/squidex-sync is not installed here, so the copy under test
   * points ExecStart at this Node binary (arguments kept). It does not look up
   * User=/Group= (resolved only when the service starts), so no user is needed.
   * It exits 0 on mere warnings (unknown key, bad value "ignoring"), so any line
   * naming the unit counts as a failure.
   */
  function verify(text: string): { status: number | null; complaints: string[] } {
    const file = join(dir, 'squidex-sync.service');
    writeFileSync(file, text.replace(/^ExecStart=\/usr\/local\/bin\/squidex-sync /m, `ExecStart=${process.execPath} `));
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    const complaints = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.includes('squidex-sync.service'));
    return { status: r.status, complaints };
  }

  it('passes systemd-analyze verify with no warnings', (ctx) => {
    if (!tool.ok) {
      missing(true, 'systemd-analyze (systemd)');
      console.log(`skipped: ${tool.reason}`);
      return ctx.skip();
    }
    expect(verify(UNIT)).toEqual({ status: 0, complaints: [] });
  });

  it('keeps its hardening: systemd-analyze security rates it OK (exposure below 3)', (ctx) => {
    if (missing(!tool.ok, 'systemd-analyze (systemd)')) return ctx.skip();
    verify(UNIT); // writes the runnable copy
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', join(dir, 'squidex-sync.service')], {
      encoding: 'utf8',
    });
    const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(`${r.stdout}${r.stderr}`);
    if (!m) {
      missing(true, 'a systemd-analyze that rates a unit offline');
      console.log(`skipped: this systemd-analyze cannot rate a unit offline (${r.stderr.trim().slice(0, 200)})`);
      return ctx.skip();
    }
    expect(Number(m[1])).toBeLessThan(3);
  });

  it('the check would catch a broken unit (control)', (ctx) => {
    if (missing(!tool.ok, 'systemd-analyze (systemd)')) return ctx.skip();
    const broken = UNIT.replace('ProtectHome=read-only', 'ProtectHome=readonly');
    expect(verify(broken).complaints.join('\n')).toMatch(/protect home/i);
  });

  it('runs unprivileged, restarts with back-off and outlives the 30 s drain', () => {
    expect(directive('ExecStart')).toBe('/usr/local/bin/squidex-sync start --config /etc/squidex-sync/sync.yaml');
    expect(directive('User')).toBe('squidex-sync');
    expect(directive('Type')).toBe('notify');
    expect(directive('NotifyAccess')).toBe('all');
    expect(directive('Restart')).toBe('on-failure');
    expect(Number.parseInt(directive('TimeoutStopSec') ?? '0', 10)).toBeGreaterThan(30);
    expect(directive('NoNewPrivileges')).toBe('yes');
    expect(directive('ProtectSystem')).toBe('strict');
    expect(directive('ReadWritePaths')).toBe('/var/lib/squidex-sync');
    // V8's JIT needs writable+executable memory.
    expect(directive('MemoryDenyWriteExecute')).toBeUndefined();
  });
});
