import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNotifier, notifyArgs, watchdogIntervalMs } from '../../src/service/sdnotify.js';
import { missing } from '../support/capability.js';

afterEach(() => {
  vi.useRealTimers();
});

function recorder() {
  const calls: string[][] = [];
  return { calls, run: async (_cmd: string, args: string[]) => void calls.push(args) };
}

describe('sd_notify', () => {
  it('is a no-op when not started by systemd (no NOTIFY_SOCKET)', async () => {
    const r = recorder();
    const n = createNotifier({ env: { WATCHDOG_USEC: '60000000' }, run: r.run });
    expect(n.enabled).toBe(false);
    expect(n.watchdogIntervalMs).toBeUndefined();
    await n.ready('watching');
    await n.watchdog();
    await n.stopping();
    n.startWatchdog();
    n.close();
    expect(r.calls).toEqual([]);
  });

  it('builds systemd-notify arguments, one line of status, main PID with READY', () => {
    expect(notifyArgs({ ready: true, mainPid: 42, status: 'watching 2 mappings' })).toEqual([
      '--ready',
      '--pid=42',
      '--status=watching 2 mappings',
    ]);
    expect(notifyArgs({ status: 'a\nWATCHDOG=1' })).toEqual(['--status=a WATCHDOG=1']);
    expect(notifyArgs({ stopping: true })).toEqual(['STOPPING=1']);
    expect(notifyArgs({ watchdog: true })).toEqual(['WATCHDOG=1']);
  });

  it('pings the watchdog at half of WATCHDOG_USEC, only for our PID, only while alive', async () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '60000000' }, 1)).toBe(30_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '60000000', WATCHDOG_PID: '2' }, 1)).toBeUndefined();
    expect(watchdogIntervalMs({}, 1)).toBeUndefined();

    vi.useFakeTimers();
    const r = recorder();
    let alive = true;
    const n = createNotifier({ env: { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '10000000' }, pid: 7, run: r.run });
    expect(n.watchdogIntervalMs).toBe(5_000);
    n.startWatchdog(() => alive);
    await vi.advanceTimersByTimeAsync(10_000);
    alive = false;
    await vi.advanceTimersByTimeAsync(10_000);
    n.close();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(r.calls).toEqual([['WATCHDOG=1'], ['WATCHDOG=1']]);
  });

  it('never throws when systemd-notify cannot run', async () => {
    const n = createNotifier({ env: { NOTIFY_SOCKET: '/run/x' }, command: '/nonexistent/systemd-notify' });
    await expect(n.ready()).resolves.toBeUndefined();
  });

  it('the real systemd-notify delivers READY, STATUS, WATCHDOG and STOPPING to NOTIFY_SOCKET', async (ctx) => {
    // Node cannot open a unix datagram socket, so a few lines of Python stand in for systemd's end.
    const absent = ['systemd-notify', 'python3'].filter((c) => spawnSync(c, ['--version']).error);
    if (missing(absent.length > 0, absent.join(', '))) {
      console.log(`skipped: ${absent.join(', ')} not available`);
      ctx.skip();
    }
    const dir = mkdtempSync(join(tmpdir(), 'sdnotify-'));
    const sock = join(dir, 'notify');
    const receiver: ChildProcess = spawn('python3', ['-u', '-c', RECEIVER, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const lines: string[] = [];
      let buf = '';
      const listening = new Promise<void>((resolve) => {
        receiver.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          const parts = buf.split('\n');
          buf = parts.pop()!;
          for (const p of parts)
            if (p === 'listening') resolve();
            else lines.push(p);
        });
      });
      await listening;
      const n = createNotifier({ env: { ...process.env, NOTIFY_SOCKET: sock }, pid: 4242 });
      await n.ready('watching');
      await n.watchdog();
      await n.stopping('draining');
      const messages = () => lines.filter((l) => !l.includes('BARRIER')).map((l) => JSON.parse(l) as string);
      // The receiver prints before it releases systemd-notify's barrier, so the lines are here or in the pipe.
      for (let i = 0; i < 500 && messages().length < 3; i++) await new Promise((r) => setTimeout(r, 10));
      expect(messages()).toEqual(['READY=1\nSTATUS=watching\nMAINPID=4242', 'WATCHDOG=1', 'STATUS=draining\nSTOPPING=1']);
    } finally {
      if (receiver.exitCode === null && receiver.signalCode === null) {
        const exited = new Promise((r) => receiver.once('exit', r));
        receiver.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const RECEIVER = `
import socket, sys, os, array, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('listening')
while True:
    msg, anc, _f, _a = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    print(json.dumps(msg.decode()))
    for lvl, typ, data in anc:
        if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            a = array.array('i'); a.frombytes(data[:len(data) - len(data) % a.itemsize])
            for fd in a: os.close(fd)  # systemd-notify waits until its barrier fd is closed
`;
