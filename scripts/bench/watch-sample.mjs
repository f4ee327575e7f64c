// Preload of watch-timeline.mjs: every 20 ms (and at any __sample(tag) call put in for a
// measurement), this process's memory as JSON lines into $WATCH_SAMPLE_OUT.
import { appendFileSync, readFileSync } from 'node:fs';
import v8 from 'node:v8';

const out = process.env.WATCH_SAMPLE_OUT;
if (out) {
  const mb = (s, k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024;
  const take = (tag = '') => {
    const m = process.memoryUsage();
    const s = readFileSync('/proc/self/status', 'utf8');
    const space = (n) => Math.round((v8.getHeapSpaceStatistics().find((x) => x.space_name === n)?.space_size ?? 0) / 2 ** 20);
    appendFileSync(
      out,
      `${JSON.stringify({ t: Date.now(), tag, rss: mb(s, 'VmRSS'), hwm: mb(s, 'VmHWM'), heapUsed: m.heapUsed / 2 ** 20, heapTotal: m.heapTotal / 2 ** 20, young: space('new_space'), old: space('old_space') })}\n`,
    );
  };
  globalThis.__sample = take;
  take('preload');
  setInterval(take, 20).unref();
}
