import { afterEach, expect, it } from 'vitest';
import { World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

// JSON.parse keeps the last of two equal keys, so the raw line is what shows a repeat.
it('a rescan line of the daemon names its mapping once', { timeout: 60_000 }, async () => {
  world = await World.create();
  world.write('a.txt', 'hello');
  const d = world.startDaemon();
  await d.waitForLog((l) => String(l.msg ?? '').startsWith('rescan:'));
  const raw = d.stdout.split('\n').find((l) => l.includes('"msg":"rescan:'));
  expect(raw).toBeDefined();
  expect(raw!.match(/"mapping":/g)).toHaveLength(1);
  await d.stop();
});
