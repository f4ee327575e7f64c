/** Conformance: the official Squidex SDK (@squidex/squidex 2.0.1) drives the test server. */
import { SquidexClient } from '@squidex/squidex';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../src/testserver/index.js';
import { createRequire } from 'node:module';
import { ROOT, body, file, harness, json } from '../support/testserver.js';

type Schema = { $ref?: string; allOf?: Schema[]; required?: string[]; properties?: Record<string, unknown> };
const openapi = createRequire(import.meta.url)('@squidex/squidex/openapi.json') as { components: { schemas: Record<string, Schema> } };

/** Required and allowed keys of a schema from the SDK's own openapi.json, following allOf/$ref. */
function keysOf(name: string): { required: Set<string>; allowed: Set<string> } {
  const required = new Set<string>();
  const allowed = new Set<string>();
  const walk = (s: Schema) => {
    if (s.$ref) return walk(openapi.components.schemas[s.$ref.split('/').pop()!]);
    for (const part of s.allOf ?? []) walk(part);
    for (const k of s.required ?? []) required.add(k);
    for (const k of Object.keys(s.properties ?? {})) allowed.add(k);
  };
  walk(openapi.components.schemas[name]);
  return { required, allowed };
}

function expectShape(value: Record<string, unknown>, name: string): void {
  const { required, allowed } = keysOf(name);
  expect(
    [...required].filter((k) => !(k in value)),
    `${name} missing`,
  ).toEqual([]);
  expect(
    Object.keys(value).filter((k) => !allowed.has(k)),
    `${name} extra`,
  ).toEqual([]);
}

let server: TestServer;
let sdk: SquidexClient;
beforeEach(async () => {
  server = await startTestServer();
  sdk = new SquidexClient({
    appName: server.app,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
    url: server.url,
    timeout: 5000,
  });
});
afterEach(async () => {
  await server.close();
});

describe('test server: official SDK conformance', () => {
  it('token, folder, upload into it, read back, replace content', async () => {
    const folder = await sdk.assets.postAssetFolder({ folderName: 'Marketing', parentId: ROOT });
    expect(folder).toMatchObject({ folderName: 'Marketing', parentId: ROOT, version: 0 });

    const folders = await sdk.assets.getAssetFolders({ parentId: ROOT });
    expect(folders.total).toBe(1);
    expect(folders.items.map((f) => f.id)).toEqual([folder.id]);

    const asset = await sdk.assets.postAsset({ parentId: folder.id, file: new File(['hello world'], 'hello.txt', { type: 'text/plain' }) });
    expect(asset).toMatchObject({
      parentId: folder.id,
      fileName: 'hello.txt',
      fileHash: 'bvM8MvcTgEVk5T9nZO5U2Aj9Bww2UHlCSYi9LwFDNX0=',
      fileSize: 11,
      version: 0,
    });
    expect(server.inspect().counters.byRoute['POST /assets']).toBe(1);

    const read = await sdk.assets.getAsset(asset.id);
    expect(read).toMatchObject({ id: asset.id, parentId: folder.id, mimeType: 'text/plain', slug: 'hello.txt' });
    const listed = await sdk.assets.getAssets({ parentId: folder.id });
    expect(listed.items.map((a) => a.id)).toEqual([asset.id]);
    const bytes = await sdk.assets.getAssetContentBySlug(asset.id);
    expect(await bytes.text()).toBe('hello world');

    const replaced = await sdk.assets.putAssetContent(asset.id, { file: new File(['hello again'], 'hello.txt', { type: 'text/plain' }) });
    expect(replaced).toMatchObject({ id: asset.id, fileName: 'hello.txt', fileVersion: 1, version: 1, fileSize: 11 });
    expect(await (await sdk.assets.getAssetContentBySlug(asset.id)).text()).toBe('hello again');

    const upserted = await sdk.assets.postUpsertAsset('custom-id', {
      parentId: folder.id,
      duplicate: true,
      file: new File(['x'], 'x.txt', { type: 'text/plain' }),
    });
    expect(upserted).toMatchObject({ id: 'custom-id', parentId: folder.id });
    expect(server.inspect().counters.tokens).toBe(1);
  });

  it('surfaces the server errors as the SDK error classes', async () => {
    const err = await sdk.assets.getAsset('missing').catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 404 });
    const bad = await sdk.assets.postAssetFolder({ folderName: '' }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ statusCode: 400 });
  });

  it('answers in the shapes of the SDK openapi.json', async () => {
    const h = await harness();
    try {
      const folder = await body(await h.api('/assets/folders', { method: 'POST', ...json({ folderName: 'f' }) }));
      expectShape(folder, 'AssetFolderDto');
      const folders = await body(await h.api(`/assets/folders?parentId=${folder.id}`));
      expectShape(folders, 'AssetFoldersDto');
      const asset = await body(await h.upload(`/assets?parentId=${folder.id}`, [file('a.txt', 'a')]));
      expectShape(asset, 'AssetDto');
      const dup = await body(await h.upload('/assets', [file('a.txt', 'a')]));
      expectShape(dup, 'AssetDto');
      const list = await body(await h.api('/assets'));
      expectShape(list, 'AssetsDto');
      expectShape(list.items[0], 'AssetDto');
      const error = await body(await h.api('/assets/nope'));
      expectShape(error, 'ErrorDto');
      const validation = await body(await h.upload('/assets', [{ filename: 'x', data: 'x' }]));
      expectShape(validation, 'ErrorDto');
    } finally {
      await h.server.close();
    }
  });
});
