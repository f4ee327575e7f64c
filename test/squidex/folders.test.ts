import { describe, expect, it } from 'vitest';
import {
  FolderResolver,
  normalizeRemotePath,
  ROOT_FOLDER_ID,
  SquidexError,
  type FolderCache,
  type FolderDto,
} from '../../src/squidex/index.js';
import type { FolderApi } from '../../src/squidex/folders.js';

class MapCache implements FolderCache {
  readonly map = new Map<string, string>();
  get(p: string) {
    return this.map.get(p);
  }
  set(p: string, id: string) {
    this.map.set(p, id);
  }
  delete(p: string) {
    this.map.delete(p);
  }
}

/** An in-memory folder API with a little latency, so concurrent callers really overlap. */
class FakeFolders implements FolderApi {
  folders: FolderDto[] = [];
  creates = 0;
  lists = 0;
  private n = 0;
  async listFolders(parentId?: string): Promise<FolderDto[]> {
    this.lists++;
    await new Promise((r) => setTimeout(r, 5));
    return this.folders.filter((f) => parentId === undefined || f.parentId === parentId);
  }
  async createFolder(name: string, parentId: string): Promise<FolderDto> {
    this.creates++;
    await new Promise((r) => setTimeout(r, 5));
    if (parentId !== ROOT_FOLDER_ID && !this.folders.some((f) => f.id === parentId)) {
      throw new SquidexError('FOLDER_NOT_FOUND', 'gone', { status: 400 });
    }
    const f = { id: `f${++this.n}`, parentId, folderName: name, version: 0 };
    this.folders.push(f);
    return f;
  }
}

describe('FolderResolver', () => {
  it('normalizes paths; "" is the root', async () => {
    expect(normalizeRemotePath('/A//B/')).toBe('A/B');
    const r = new FolderResolver(new FakeFolders(), new MapCache());
    expect(await r.resolve('')).toBe(ROOT_FOLDER_ID);
    expect(await r.resolve('/')).toBe(ROOT_FOLDER_ID);
  });

  it('20 concurrent resolves of overlapping missing paths create each folder once, parent first', async () => {
    const api = new FakeFolders();
    const cache = new MapCache();
    const r = new FolderResolver(api, cache);
    const paths = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'Marketing/Shared/2026' : `Marketing/Shared/${i % 4}`));
    const ids = await Promise.all(paths.map((p) => r.resolve(p)));
    expect(api.creates).toBe(5); // Marketing, Shared, 2026, 0, 2
    expect(new Set(ids.filter((_, i) => i % 2)).size).toBe(1);
    const byName = new Map(api.folders.map((f) => [f.folderName, f]));
    expect(byName.get('Shared')!.parentId).toBe(byName.get('Marketing')!.id);
    expect(byName.get('2026')!.parentId).toBe(byName.get('Shared')!.id);
    expect(cache.get('Marketing/Shared/2026')).toBe(byName.get('2026')!.id);
    const before = api.lists + api.creates;
    await r.resolve('Marketing/Shared/2026');
    expect(api.lists + api.creates).toBe(before); // cached
  });

  it('does not list a folder it just created (it is empty): A/B/C on an empty server is one listing and three creates', async () => {
    const api = new FakeFolders();
    const created: string[] = [];
    const r = new FolderResolver(api, new MapCache(), { onCreated: (id) => created.push(id) });
    const id = await r.resolve('A/B/C');
    expect(api.lists).toBe(1); // the root only
    expect(api.creates).toBe(3);
    expect(created).toEqual(api.folders.map((f) => f.id));
    expect(created.at(-1)).toBe(id);
    await r.resolve('A/B/D'); // a sibling under a folder we made: still no listing
    expect(api.lists).toBe(1);
    expect(api.folders.filter((f) => f.folderName === 'D')).toHaveLength(1);
  });

  it('finds existing folders by exact, case-sensitive name; the first of duplicates wins', async () => {
    const api = new FakeFolders();
    api.folders = [
      { id: 'lower', parentId: ROOT_FOLDER_ID, folderName: 'marketing', version: 0 },
      { id: 'dup1', parentId: ROOT_FOLDER_ID, folderName: 'Marketing', version: 0 },
      { id: 'dup2', parentId: ROOT_FOLDER_ID, folderName: 'Marketing', version: 0 },
    ];
    const r = new FolderResolver(api, new MapCache());
    expect(await r.resolve('Marketing')).toBe('dup1');
    expect(api.creates).toBe(0);
  });

  it('invalidate drops the path and its descendants; a deleted cached parent is rebuilt', async () => {
    const api = new FakeFolders();
    const cache = new MapCache();
    const r = new FolderResolver(api, cache);
    await r.resolve('A/B/C');
    await r.resolve('AB');
    r.invalidate('A');
    expect(cache.get('A')).toBeUndefined();
    expect(cache.get('A/B/C')).toBeUndefined();
    expect(cache.get('AB')).toBeDefined();

    // Server-side deletion the cache does not know about: create under the stale parent fails,
    // the resolver forgets the parent and builds the chain again.
    await r.resolve('X/Y');
    api.folders = api.folders.filter((f) => f.folderName !== 'X' && f.folderName !== 'Y');
    const id = await r.resolve('X/Y/Z');
    const z = api.folders.find((f) => f.id === id)!;
    expect(z.folderName).toBe('Z');
    expect(api.folders.find((f) => f.id === z.parentId)!.folderName).toBe('Y');
  });

  it('a failure is not cached and the next call tries again', async () => {
    const api = new FakeFolders();
    let fail = true;
    const create = api.createFolder.bind(api);
    api.createFolder = async (n, p) => {
      if (fail) throw new SquidexError('SERVER_ERROR', 'boom', { retry: 'retry' });
      return create(n, p);
    };
    const r = new FolderResolver(api, new MapCache());
    await expect(r.resolve('A')).rejects.toMatchObject({ code: 'SERVER_ERROR' });
    fail = false;
    expect(await r.resolve('A')).toMatch(/^f/);
  });

  it('a create whose answer was lost is looked for before it is tried again, even under a folder it created', async () => {
    const api = new FakeFolders();
    let lose = false;
    const create = api.createFolder.bind(api);
    api.createFolder = async (n, p) => {
      const f = await create(n, p); // the server made it…
      if (lose) throw new SquidexError('NETWORK', 'socket hang up', { retry: 'retry' }); // …and the answer never came
      return f;
    };
    const r = new FolderResolver(api, new MapCache());
    await r.resolve('A'); // created here: its children are not listed
    lose = true;
    await expect(r.resolve('A/B')).rejects.toMatchObject({ code: 'NETWORK' });
    lose = false;
    const id = await r.resolve('A/B');
    expect(api.folders.filter((f) => f.folderName === 'B')).toHaveLength(1);
    expect(id).toBe(api.folders.find((f) => f.folderName === 'B')!.id);
  });
  it('takes a listing offered for a folder in place of its own request, once; a withdrawn offer is not used', async () => {
    const api = new FakeFolders();
    const existing = { id: 'x1', parentId: ROOT_FOLDER_ID, folderName: 'Existing', version: 0 };
    api.folders.push(existing);
    const r = new FolderResolver(api, new MapCache());
    r.offer(ROOT_FOLDER_ID, [existing]);
    expect(await r.resolve('Existing')).toBe('x1');
    expect(api.lists).toBe(0);
    expect(await r.resolve('Other')).toBe('f1');
    expect(api.lists).toBe(1); // used up: the next lookup under the root lists it
    const w = new FolderResolver(api, new MapCache());
    w.offer(ROOT_FOLDER_ID, [])();
    // The withdrawn (empty) answer would have made a second "Existing".
    expect(await w.resolve('Existing')).toBe('x1');
    expect(api.lists).toBe(2);
    expect(api.creates).toBe(1);
  });
});
