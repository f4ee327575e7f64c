import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { classifyWatchError } from '../../src/watch/index.js';
import { probeInotify } from '../../src/watch/parcel.js';
import { missing } from '../support/capability.js';

// The inotify check runs on a thread of its own; only fs.watch's own refusal may read as a
// limit. A thread that fails for any other reason says that it could not check.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sqsync-probe-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const script = (code: string): URL => new URL(`data:text/javascript,${encodeURIComponent(code)}`);

describe.skipIf(missing(process.platform !== 'linux', 'Linux, whose inotify the check probes'))('probeInotify', () => {
  it('answers null when a folder can be watched', async () => {
    expect(await probeInotify(dir)).toBeNull();
  });

  it.each([
    { why: 'a thread that throws', code: "throw new Error('no require here');", says: 'no require here' },
    { why: 'a thread that ends without an answer', code: 'process.exit(0);', says: 'without an answer' },
  ])('$why is WATCH_FAILED saying the check could not run, not a limit', async ({ code, says }) => {
    const err = await probeInotify(dir, script(code));
    expect(err).toMatchObject({ code: 'WATCH_PROBE_FAILED' });
    expect(err?.message).toContain(says);
    const reported = classifyWatchError(err, dir, '', true);
    expect(reported.code).toBe('WATCH_FAILED');
    expect(reported.message).toContain('the check that inotify can watch it could not run');
    expect(reported.message).not.toContain('limit');
  });

  it("keeps fs.watch's own errno: a limit is still WATCH_LIMIT", async () => {
    const limit = script(
      "import { parentPort } from 'node:worker_threads'; parentPort.postMessage({ code: 'ENOSPC', message: 'no space left on device' });",
    );
    const err = await probeInotify(dir, limit);
    expect(err).toMatchObject({ code: 'ENOSPC' });
    expect(classifyWatchError(err, dir, '', true).code).toBe('WATCH_LIMIT');
  });
});
