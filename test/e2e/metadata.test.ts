import { copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getToken } from '../support/testserver.js';
import { liveAssetsByPath, uploadRequests, waitFor, World } from '../support/world.js';

const FX = join(import.meta.dirname, '../fixtures/metadata');
const P = 'Design/Shared';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function put(w: World, fixture: string, rel = fixture): void {
  mkdirSync(dirname(join(w.local, rel)), { recursive: true });
  copyFileSync(join(FX, fixture), join(w.local, rel));
}

function asset(w: World, rel: string) {
  const a = liveAssetsByPath(w.inspect()).get(`${P}/${rel}`);
  if (!a) throw new Error(`no live asset at ${rel}`);
  return a;
}

/** What an editor does in the Squidex UI: add a tag to the asset (the whole list goes back, as annotate replaces it). */
async function editorAddsTag(w: World, rel: string, tag: string): Promise<void> {
  const a = asset(w, rel);
  const res = await fetch(`${w.server.url}/api/apps/${w.server.app}/assets/${a.id}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${await getToken(w.server)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tags: [...a.tags, tag] }),
  });
  expect(res.status).toBe(200);
}

/** The shoot's sidecar with other keywords and title, as Lightroom rewrites it. */
function editSidecar(w: World, rel: string, from: string[], to: string[]): void {
  let xmp = readFileSync(join(FX, 'shoot.xmp'), 'utf8');
  for (const [i, f] of from.entries()) xmp = xmp.replace(f, to[i]);
  writeFileSync(join(w.local, rel), xmp);
}

describe('keywords and credits become tags and metadata', () => {
  it('from every kind of fixture; credits under plain keys; sidecars are not uploaded', async () => {
    world = await World.create();
    const w = world;
    for (const f of ['iptc.jpg', 'xmp.png', 'xmp.tif', 'layers.psd']) put(w, f);
    put(w, 'shoot.cr2', 'raw/shoot.cr2');
    put(w, 'shoot.xmp', 'raw/shoot.xmp');
    const run = await w.run(['once']);
    expect(run.code, run.stdout).toBe(0);

    expect(asset(w, 'iptc.jpg').tags).toEqual(['type/jpg', 'summer', 'beach', 'Café terrace']);
    expect(asset(w, 'iptc.jpg').metadata).toMatchObject({
      title: 'Summer hero',
      caption: 'Hero image of the summer campaign',
      creator: 'Jane Doe',
      copyright: '© 2026 Atlas Design',
    });
    expect(asset(w, 'xmp.png').tags).toEqual(['type/png', 'logo', 'dark']);
    expect(asset(w, 'xmp.png').metadata).toMatchObject({
      title: 'Logo, dark',
      caption: 'The logo on a dark background',
      creator: 'Ann Smith, Bob Jones',
      copyright: 'CC BY 4.0',
    });
    expect(asset(w, 'xmp.tif').tags).toEqual(['type/tif', 'logo', 'print']);
    expect(asset(w, 'layers.psd').tags).toEqual(['type/psd', 'poster', 'draft']);
    expect(asset(w, 'raw/shoot.cr2').tags).toEqual(['type/cr2', 'studio', 'portrait']);
    expect(asset(w, 'raw/shoot.cr2').metadata).toMatchObject({ title: 'Studio portrait', creator: 'Sam Lee', copyright: '© 2026 Sam Lee' });
    // Still stamped, as every asset is.
    expect(asset(w, 'layers.psd').metadata.squidexSyncPath).toBe(`${P}/layers.psd`);

    expect([...liveAssetsByPath(w.inspect()).keys()].filter((k) => k.endsWith('.xmp'))).toEqual([]);
    expect(uploadRequests(w)).toBe(5);
    // verify agrees: a sidecar is not a file waiting for its upload.
    const verify = await w.run(['verify']);
    expect(verify.code, verify.stdout).toBe(0);
    // A second run finds nothing to do: no upload, no annotate.
    w.server.resetCounters();
    expect((await w.run(['once'])).code).toBe(0);
    const routes = w.inspect().counters.byRoute;
    expect(uploadRequests(w) + (routes['PUT /assets/{id}'] ?? 0) + (routes['POST /assets/bulk'] ?? 0)).toBe(0);
  });

  it('a sidecar edit re-annotates with no upload while the daemon runs; an editor’s tag survives it', async () => {
    world = await World.create();
    const w = world;
    put(w, 'shoot.cr2', 'raw/shoot.cr2');
    put(w, 'shoot.xmp', 'raw/shoot.xmp');
    expect((await w.run(['once'])).code).toBe(0);
    await editorAddsTag(w, 'raw/shoot.cr2', 'editor-pick');

    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    w.server.resetCounters();
    editSidecar(w, 'raw/shoot.xmp', ['portrait', 'Studio portrait'], ['headshot', 'Studio headshot']);
    await waitFor(
      () => asset(w, 'raw/shoot.cr2').tags.includes('headshot'),
      20_000,
      () => d.stdout.slice(-3000),
    );
    const a = asset(w, 'raw/shoot.cr2');
    expect(a.tags).toEqual(['type/cr2', 'studio', 'editor-pick', 'headshot']);
    expect(a.metadata.title).toBe('Studio headshot');
    expect(uploadRequests(w)).toBe(0);
    expect(await d.stop()).toBe(0);
  });

  it('a change of keywords in the file keeps an editor’s tag and Squidex’s own; the dry run shows tag changes', async () => {
    world = await World.create();
    const w = world;
    put(w, 'layers.psd');
    put(w, 'shoot.cr2', 'raw/shoot.cr2');
    put(w, 'shoot.xmp', 'raw/shoot.xmp');
    expect((await w.run(['once'])).code).toBe(0);
    await editorAddsTag(w, 'layers.psd', 'approved');

    // Photoshop saved new keywords: the packet changes in place, so does the hash.
    const psd = readFileSync(join(w.local, 'layers.psd'));
    writeFileSync(join(w.local, 'layers.psd'), Buffer.from(psd.toString('latin1').replace('draft', 'final'), 'latin1'));
    editSidecar(w, 'raw/shoot.xmp', ['portrait'], ['headshot']);
    const dry = await w.run(['once', '--dry-run']);
    expect(dry.stdout).toMatch(/replace\s+share: layers\.psd .*tags \+final −draft/);
    expect(dry.stdout).toMatch(/annotate\s+share: raw\/shoot\.cr2 .*tags \+headshot −portrait/);
    expect(asset(w, 'layers.psd').tags).toContain('draft'); // the dry run changed nothing

    expect((await w.run(['once'])).code).toBe(0);
    expect(asset(w, 'layers.psd').tags).toEqual(['type/psd', 'poster', 'approved', 'final']);
    expect(asset(w, 'raw/shoot.cr2').tags).toEqual(['type/cr2', 'studio', 'headshot']);
  });

  it('after a lost state database, the tags already on adopted assets are the editors’: never removed', async () => {
    world = await World.create();
    const w = world;
    put(w, 'layers.psd');
    expect((await w.run(['once'])).code).toBe(0);
    rmSync(join(w.dir, 'state'), { recursive: true, force: true });
    w.server.resetCounters();
    expect((await w.run(['once'])).code).toBe(0);
    expect(uploadRequests(w)).toBe(0);

    const psd = readFileSync(join(w.local, 'layers.psd'));
    writeFileSync(join(w.local, 'layers.psd'), Buffer.from(psd.toString('latin1').replace('draft', 'final'), 'latin1'));
    expect((await w.run(['once'])).code).toBe(0);
    expect(asset(w, 'layers.psd').tags).toEqual(['type/psd', 'poster', 'draft', 'final']);
  });
});

describe('big files: read once, metadata from the same pass', () => {
  it('a PDF hashed before its upload (packet at the end) and a new 9 MiB PSD hashed as it is sent (packet at the start)', async () => {
    world = await World.create({ server: { maxUploadBytes: 32 * 1024 * 1024 } });
    const w = world;
    const xmp = readFileSync(join(FX, 'shoot.xmp'), 'utf8');
    const pdfPacket = xmp
      .replace(
        "xmlns:dc='http://purl.org/dc/elements/1.1/'>",
        "xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:pdf='http://ns.adobe.com/pdf/1.3/' pdf:Producer='InDesign'>",
      )
      .replace('portrait', 'brochure');
    w.write(
      'brochure.pdf',
      Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(3 * 1024 * 1024, 0x20), Buffer.from(pdfPacket), Buffer.from('\n%%EOF\n')]),
    );
    const psd = readFileSync(join(FX, 'layers.psd'));
    w.write('poster-big.psd', Buffer.concat([psd, Buffer.alloc(9 * 1024 * 1024, 7)]));
    const run = await w.run(['once']);
    expect(run.code, run.stdout).toBe(0);
    expect(asset(w, 'brochure.pdf').tags).toEqual(['type/pdf', 'studio', 'brochure']);
    expect(asset(w, 'poster-big.psd').tags).toEqual(['type/psd', 'poster', 'draft']);
    expect(asset(w, 'poster-big.psd').metadata).toMatchObject({ title: 'Poster draft' });
  });
});

describe('tags from the config', () => {
  it('tags and folderTags on every asset; a change of them re-annotates with no upload', async () => {
    world = await World.create({ mapping: { tags: ['brand'], folderTags: true } });
    const w = world;
    w.write('Campaigns/Summer/plan.txt', 'plan');
    w.write('top.txt', 'top');
    expect((await w.run(['once'])).code).toBe(0);
    expect(asset(w, 'Campaigns/Summer/plan.txt').tags).toEqual(['type/txt', 'brand', 'Campaigns', 'Summer']);
    expect(asset(w, 'top.txt').tags).toEqual(['type/txt', 'brand']);

    w.writeConfig({ ...w.config(), mappings: [{ ...(w.config().mappings as object[])[0], tags: ['brand-2026'], folderTags: false }] });
    w.server.resetCounters();
    const dry = await w.run(['once', '--dry-run']);
    expect(dry.stdout).toMatch(/annotate\s+share: top\.txt .*tags \+brand-2026 −brand/);
    expect((await w.run(['once'])).code).toBe(0);
    expect(uploadRequests(w)).toBe(0);
    expect(asset(w, 'Campaigns/Summer/plan.txt').tags).toEqual(['type/txt', 'brand-2026']);
    expect(asset(w, 'top.txt').tags).toEqual(['type/txt', 'brand-2026']);
  });

  it('a folder renamed as a whole under folderTags: the tags follow, nothing uploaded', async () => {
    world = await World.create({ mapping: { folderTags: true } });
    const w = world;
    w.write('Summer/a.txt', 'a');
    w.write('Summer/b.txt', 'b');
    expect((await w.run(['once'])).code).toBe(0);
    renameSync(join(w.local, 'Summer'), join(w.local, 'Autumn'));
    w.server.resetCounters();
    expect((await w.run(['once'])).code).toBe(0);
    expect(uploadRequests(w)).toBe(0);
    expect(asset(w, 'Autumn/a.txt').tags).toEqual(['type/txt', 'Autumn']);
    expect(asset(w, 'Autumn/b.txt').tags).toEqual(['type/txt', 'Autumn']);
  });

  it('embeddedMetadata turned on later: synced files get their keywords, read once, nothing uploaded', async () => {
    world = await World.create({ mapping: { embeddedMetadata: false } });
    const w = world;
    put(w, 'iptc.jpg');
    w.write('notes.txt', 'no metadata here');
    expect((await w.run(['once'])).code).toBe(0);
    expect(asset(w, 'iptc.jpg').tags).toEqual(['type/jpg']);
    w.writeConfig({ ...w.config(), mappings: [{ ...(w.config().mappings as object[])[0], embeddedMetadata: true }] });
    w.server.resetCounters();
    const run = await w.run(['once']);
    expect(run.code, run.stdout).toBe(0);
    expect(uploadRequests(w)).toBe(0);
    expect(asset(w, 'iptc.jpg').tags).toEqual(['type/jpg', 'summer', 'beach', 'Café terrace']);
    expect(asset(w, 'iptc.jpg').metadata.title).toBe('Summer hero');
    expect(w.inspect().counters.byRoute['PUT /assets/{id}']).toBe(1); // the JPEG only; notes.txt has nothing to say
  });

  it('embeddedMetadata: false reads nothing and uploads sidecars like any file; turned on, such an asset stays but is no longer synced', async () => {
    world = await World.create({ mapping: { embeddedMetadata: false, deletes: 'delete' } });
    const w = world;
    put(w, 'iptc.jpg');
    put(w, 'shoot.cr2');
    put(w, 'shoot.xmp');
    expect((await w.run(['once'])).code).toBe(0);
    expect(asset(w, 'iptc.jpg').tags).toEqual(['type/jpg']);
    expect(asset(w, 'iptc.jpg').metadata.title).toBeUndefined();
    const xmpAsset = asset(w, 'shoot.xmp');

    w.writeConfig({ ...w.config(), mappings: [{ ...(w.config().mappings as object[])[0], embeddedMetadata: true }] });
    w.server.resetCounters();
    expect((await w.run(['once'])).code).toBe(0);
    expect(w.inspect().counters.byRoute['DELETE /assets/{id}'] ?? 0).toBe(0);
    expect(asset(w, 'shoot.xmp').id).toBe(xmpAsset.id);
    expect(asset(w, 'shoot.cr2').tags).toEqual(['type/cr2', 'studio', 'portrait']);
    const status = JSON.parse((await w.run(['status', '--json'])).stdout) as { mappings: Array<{ inSync: number }> };
    expect(status.mappings[0].inSync).toBe(2);
  });
});
