import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openState } from '../../src/state/index.js';
import { requireDist } from '../support/state.js';

const CHILD = join(import.meta.dirname, '../fixtures', 'queue-crasher.mjs');
const QUEUE = { debounceMs: 0, maxAttempts: 1_000_000, backoffBaseMs: 1, backoffMaxMs: 4 };
const KILLS = 24;

function mulberry32(a: number) {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function waitReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`child not ready in 10 s: ${err}`)), 10_000);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited early (${code}): ${err}`));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'sqsync-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('queue under SIGKILL', () => {
  it(`loses and duplicates nothing across ${KILLS} kills at random moments`, async () => {
    requireDist();
    const file = join(dir, 'state.db');
    const log = join(dir, 'enqueued.log');
    const rand = mulberry32(20261127);
    let checked = 0;
    let completed = 0;
    for (let i = 0; i < KILLS; i++) {
      const child = spawn(process.execPath, [CHILD, file, String(1000 + i), `r${i}`, log], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        // One kill in five lands while the child is still starting: inside migration or recovery.
        if (rand() < 0.2) await new Promise((r) => setTimeout(r, Math.floor(rand() * 200)));
        else {
          await waitReady(child);
          await new Promise((r) => setTimeout(r, 10 + Math.floor(rand() * 250)));
        }
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGKILL');
          await exited;
        }
      }
      // The parent opens as the next daemon would: recovery runs, then the oracle.
      const s = openState(file, { queue: QUEUE });
      try {
        expect(s.check()).toEqual([]);
        const logged = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
        const done = s.db.prepare(`SELECT path, count(*) AS n FROM done GROUP BY path`).all() as { path: string; n: number }[];
        const doneN = new Map(done.map((d) => [d.path, d.n]));
        const live = new Set(s.db.prepare(`SELECT path FROM jobs WHERE state IN ('queued', 'failed')`).pluck().all() as string[]);
        expect(s.jobs.counts().running).toBe(0);
        expect(done.filter((d) => d.n > 1)).toEqual([]); // none completed twice
        const lost = logged.filter((p) => !doneN.has(p) && !live.has(p));
        const both = logged.filter((p) => doneN.has(p) && live.has(p));
        expect(lost).toEqual([]);
        expect(both).toEqual([]);
        checked = logged.length;
        completed = done.length;
      } finally {
        s.close();
      }
    }
    // the children really did work between kills, and the kills hit in-flight work
    expect(checked).toBeGreaterThan(KILLS * 10);
    expect(completed).toBeGreaterThan(KILLS);

    // Drain what is left: every logged path ends completed exactly once.
    const s = openState(file, { queue: QUEUE });
    try {
      s.jobs.resumeAll();
      s.jobs.requeueFailed();
      for (let round = 0; round < 1000; round++) {
        const jobs = s.jobs.claim('drain', 500);
        if (jobs.length === 0) break;
        s.db
          .transaction(() => {
            for (const j of jobs) if (s.jobs.complete(j)) s.db.prepare(`INSERT INTO done VALUES (?, ?, ?)`).run(j.mapping, j.path, j.id);
          })
          .immediate();
      }
      const logged = new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean));
      const done = s.db.prepare(`SELECT path, count(*) AS n FROM done GROUP BY path`).all() as { path: string; n: number }[];
      expect(done.every((d) => d.n === 1)).toBe(true);
      const doneSet = new Set(done.map((d) => d.path));
      expect([...logged].filter((p) => !doneSet.has(p))).toEqual([]);
      expect(s.jobs.counts()).toMatchObject({ queued: 0, running: 0, failed: 0 });
      expect(s.check()).toEqual([]);
    } finally {
      s.close();
    }
  });
});
