import { describe, expect, it } from 'vitest';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FakeClock } from '../../src/lib/clock.js';
import { Bandwidth } from '../../src/lib/throttle.js';

const MB = 1_000_000;

/** Pushes `total` bytes in 256 KiB chunks (about what a file read stream gives) through `through`. */
async function pump(total: number, through: NodeJS.ReadWriteStream): Promise<number> {
  const chunk = Buffer.alloc(256 * 1024, 7);
  let left = total;
  let seen = 0;
  const source = new Readable({
    read() {
      if (left <= 0) return this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(chunk.subarray(0, n));
    },
  });
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      seen += c.length;
      cb();
    },
  });
  await pipeline(source, through, sink);
  return seen;
}

describe('Bandwidth', () => {
  it('0 is unlimited: bytes pass through unchanged', async () => {
    const bw = new Bandwidth(0);
    expect(bw.unlimited).toBe(true);
    expect(await pump(3 * MB, bw.stream())).toBe(3 * MB);
  });

  it('rejects a negative cap', () => {
    expect(() => new Bandwidth(-1)).toThrow(RangeError);
  });

  it('holds the cap within 10% across 4 concurrent streams (20 MB at 10 MB/s)', async () => {
    const cap = 10 * MB;
    const bw = new Bandwidth(cap);
    expect(bw.burst).toBe(1024 * 1024);
    const started = performance.now();
    const sent = await Promise.all([0, 1, 2, 3].map(() => pump(5 * MB, bw.stream())));
    const seconds = (performance.now() - started) / 1000;
    const total = sent.reduce((a, b) => a + b, 0);
    expect(total).toBe(20 * MB);
    // A rate, not a duration: bytes over elapsed must sit within 10 % of the cap
    // (below it on a slow machine is the throttle's fault only if far below).
    const rate = total / seconds;
    console.log(`throttle: ${(rate / MB).toFixed(2)} MB/s for a cap of ${cap / MB} MB/s`);
    expect(rate).toBeLessThanOrEqual(cap * 1.1);
    // Slower than the cap only means a busy machine; under half would be a throttle that starves.
    expect(rate).toBeGreaterThanOrEqual(cap * 0.5);
  });

  it('shares the bucket fairly: when one stream finishes, the other has sent most of its share too', async () => {
    const bw = new Bandwidth(4 * MB);
    const seen = [0, 0];
    let atFirstFinish: number[] | undefined;
    const counted = (i: number) => {
      const t = bw.stream();
      t.on('data', (c: Buffer) => (seen[i] += c.length));
      return t;
    };
    await Promise.all(
      [0, 1].map(async (i) => {
        await pump(2 * MB, counted(i));
        atFirstFinish ??= [...seen];
      }),
    );
    expect(Math.min(...atFirstFinish!)).toBeGreaterThanOrEqual(0.75 * 2 * MB);
  });
});

describe('Bandwidth, aborted streams', () => {
  // A clock that only moves by hand: tokens appear exactly when the test says so.
  it('a destroyed stream leaves the queue, so the stream behind it goes on', async () => {
    const clock = new FakeClock();
    const bw = new Bandwidth(10_000, clock);
    const a = bw.stream();
    const b = bw.stream();
    a.resume();
    b.resume();
    a.write(Buffer.alloc(10_000)); // needs a full second of tokens: heads the queue
    const bDone = new Promise<void>((r) => b.write(Buffer.alloc(100), () => r()));
    await new Promise((r) => setImmediate(r));
    a.destroy();
    clock.advance(10); // 100 bytes of tokens: enough for b, far from enough for a
    await bDone;
  });

  it('take() with an aborted signal takes no tokens and frees the head of the queue', async () => {
    const clock = new FakeClock();
    const bw = new Bandwidth(1000, clock);
    const ac = new AbortController();
    const first = bw.take(1000, ac.signal);
    const second = bw.take(1);
    ac.abort();
    await first;
    clock.advance(1);
    await second;
  });
});
