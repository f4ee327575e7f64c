import { describe, expect, it } from 'vitest';
import {
  decide,
  UNHASHED_MIN_BYTES,
  type Decision,
  type FileObservation,
  type GoneObservation,
  type RowView,
  SETTLING,
} from '../../src/worker/decide.js';

const SHA = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const synced: RowView = { sha256: SHA, size: 10, mtimeMs: 1000, missingSince: null };
const unfinished: RowView = { sha256: null, size: null, mtimeMs: null, missingSince: null };

function file(o: Partial<FileObservation>): FileObservation {
  return { kind: 'file', row: undefined, size: 10, mtimeMs: 2000, reportedGone: false, annotateOnly: false, ...o };
}

function gone(o: Partial<GoneObservation>): GoneObservation {
  return {
    kind: 'gone',
    row: { ...synced, missingSince: 5 },
    waitedMs: 60_000,
    moveWindowMs: 30_000,
    deletes: 'delete',
    keptByUser: false,
    settleMs: 0,
    ...o,
  };
}

const table: Array<[string, FileObservation | GoneObservation, Decision]> = [
  // A file on disk
  ['same size and mtime as its synced row', file({ row: synced, mtimeMs: 1000 }), { action: 'none' }],
  ['same size and mtime, asked for tags only', file({ row: synced, mtimeMs: 1000, annotateOnly: true }), { action: 'annotate' }],
  ['same stat, but reported gone (a case-only rename)', file({ row: synced, mtimeMs: 1000, reportedGone: true }), { need: 'hash' }],
  ['same stat, but seen missing before', file({ row: { ...synced, missingSince: 5 }, mtimeMs: 1000 }), { need: 'hash' }],
  ['a new mtime: hash first', file({ row: synced }), { need: 'hash' }],
  ['hashed, but the size changed while reading', file({ row: synced, digest: { sha256: SHA, size: 11 } }), { action: 'outran' }],
  ['hashed, same content: touch', file({ row: synced, digest: { sha256: SHA, size: 10 } }), { action: 'touch' }],
  ['hashed, new content of a synced file', file({ row: synced, digest: { sha256: OTHER, size: 10 } }), { action: 'replace' }],
  [
    'hashed, a row whose upload never finished',
    file({ row: unfinished, digest: { sha256: OTHER, size: 10 } }),
    { action: 'upload', hashed: true },
  ],
  ['new path, hashed: look for a move', file({ digest: { sha256: SHA, size: 10 } }), { need: 'move' }],
  [
    'new path, its folder was renamed with it',
    file({ digest: { sha256: SHA, size: 10 }, move: { from: 'old/x', withFolder: true } }),
    { action: 'none', detail: 'moved with its folder' },
  ],
  [
    'new path, the same bytes vanished elsewhere',
    file({ digest: { sha256: SHA, size: 10 }, move: { from: 'old/x', withFolder: false } }),
    { action: 'move', from: 'old/x' },
  ],
  [
    'new path, no move: look for an asset to adopt',
    file({ digest: { sha256: SHA, size: 10 }, move: { from: null, withFolder: false } }),
    { need: 'adoption' },
  ],
  [
    'new path, an asset with these bytes in the folder',
    file({ digest: { sha256: SHA, size: 10 }, move: { from: null, withFolder: false }, adoption: { assetId: 'A', sameContent: true } }),
    { action: 'adopt', assetId: 'A' },
  ],
  [
    'new path, our stamp names it with older bytes',
    file({ digest: { sha256: SHA, size: 10 }, move: { from: null, withFolder: false }, adoption: { assetId: 'A', sameContent: false } }),
    { action: 'upload', hashed: true, reserve: 'A' },
  ],
  [
    'new path, nothing known',
    file({ digest: { sha256: SHA, size: 10 }, move: { from: null, withFolder: false }, adoption: null }),
    { action: 'upload', hashed: true },
  ],
  ['a big new file: could it be known?', file({ size: UNHASHED_MIN_BYTES }), { need: 'known' }],
  [
    'a big new file nothing could match: sent unhashed',
    file({ size: UNHASHED_MIN_BYTES, mightBeKnown: false }),
    { action: 'upload', hashed: false },
  ],
  ['a big new file that might be a move: hash first', file({ size: UNHASHED_MIN_BYTES, mightBeKnown: true }), { need: 'hash' }],
  [
    'a big file with a row: hashed first (a touch must not cost an upload)',
    file({ row: synced, size: UNHASHED_MIN_BYTES }),
    { need: 'hash' },
  ],
  // No file any more
  ['gone, never synced', gone({ row: undefined }), { action: 'none' }],
  ['gone, first seen now', gone({ row: synced }), { action: 'mark-missing' }],
  ['gone, within the move window', gone({ waitedMs: 10_000 }), { action: 'hold', requeueAfterMs: 20_000 }],
  ['gone, window over: ask the delete guard', gone({}), { need: 'guard' }],
  ['gone, the guard holds it', gone({ held: 'the folder is empty' }), { action: 'hold', detail: 'the folder is empty' }],
  ['gone, the guard passes: ask whether other deletions are still coming', gone({ held: null, settleMs: undefined }), { need: 'settle' }],
  [
    'gone, other files of the mapping vanished moments ago: wait to weigh them together',
    gone({ held: null, settleMs: 4000 }),
    { action: 'hold', requeueAfterMs: 4000, detail: SETTLING },
  ],
  ['gone, deletes: delete', gone({ held: null }), { action: 'delete' }],
  ['gone, deletes: keep', gone({ held: null, deletes: 'keep' }), { action: 'forget' }],
  ['gone, the user chose to keep its asset', gone({ held: null, keptByUser: true }), { action: 'forget' }],
  [
    'gone, its upload never finished: forgotten, never a delete of an unknown asset',
    gone({ held: null, row: { ...unfinished, missingSince: 5 } }),
    { action: 'forget' },
  ],
];

describe('decide(observation) → action', () => {
  it.each(table)('%s', (_name, observation, expected) => {
    expect(decide(observation)).toEqual(expected);
  });

  it('asks for each observation once, in order, as a worker answers them', () => {
    const o = file({});
    const asked: string[] = [];
    let d = decide(o);
    for (let i = 0; i < 10 && 'need' in d; i++) {
      asked.push(d.need);
      if (d.need === 'hash') o.digest = { sha256: SHA, size: 10 };
      else if (d.need === 'move') o.move = { from: null, withFolder: false };
      else if (d.need === 'adoption') o.adoption = null;
      d = decide(o);
    }
    expect(asked).toEqual(['hash', 'move', 'adoption']);
    expect(d).toEqual({ action: 'upload', hashed: true });
  });
});
