import { afterEach, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('once: the summary', () => {
  it('counts the deletions the guard holds: the files seen gone, no more', async () => {
    world = await World.create({ mapping: { deletes: 'delete' }, extra: { deleteGuard: { minFiles: 3 } } });
    const w = world;
    for (let i = 0; i < 10; i++) w.write(`many/f${i}.txt`, `file ${i}`);
    expect((await w.run(['once'])).code).toBe(0);
    for (let i = 0; i < 7; i++) w.rm(`many/f${i}.txt`);
    w.write('many/new.txt', 'new');
    const r = await w.run(['once']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^ {2}deletions held {14}7$/m);
    expect(r.stdout).toMatch(/^ {2}uploaded \(new\) {14}1$/m);
  });
});
