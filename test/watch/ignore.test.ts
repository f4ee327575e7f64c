import { describe, expect, it } from 'vitest';
import { compileIgnore } from '../../src/watch/index.js';
import { SyncError } from '../../src/lib/errors.js';

const root = '/srv/share';
const defaults = compileIgnore({ ignore: [], ignoreDefaults: true }, root);

describe('compileIgnore defaults', () => {
  it.each([
    ['.DS_Store', false],
    ['a/b/Thumbs.db', false],
    ['a/thumbs.db', false],
    ['Desktop.ini', false],
    ['x/~$report.docx', false],
    ['x/file.tmp', false],
    ['x/.~lock.doc.odt#', false],
    ['dl/movie.mp4.part', false],
    ['dl/setup.crdownload', false],
    ['x/._photo.jpg', false],
    ['.git', true],
    ['sub/.git', true],
    ['$RECYCLE.BIN', true],
    ['.Trash-1000', true],
    ['photos/@eaDir', true],
    ['a/.git/config', false],
  ])('ignores %s', (rel, isDir) => {
    expect(defaults(rel, isDir)).toBe(true);
  });

  it.each([['photo.jpg'], ['a/b/report.docx'], ['.gitignore'], ['git/x.png'], ['a/tmp/x.png'], ['part/a.psd']])('keeps %s', (rel) => {
    expect(defaults(rel, false)).toBe(false);
  });

  it('folder-only defaults do not hit files of that name', () => {
    expect(defaults('.git', false)).toBe(false);
    expect(defaults('@eaDir', false)).toBe(false);
  });

  it('can be turned off', () => {
    const m = compileIgnore({ ignore: [], ignoreDefaults: false }, root);
    expect(m('.DS_Store', false)).toBe(false);
    expect(m('.git', true)).toBe(false);
  });
});

describe('compileIgnore matching like picomatch', () => {
  it('matches a name equal to a pattern even where the glob itself would not, and the glob too', () => {
    const m = compileIgnore({ ignore: ['report[1].pdf', 'a{b,c}.txt'], ignoreDefaults: false }, root);
    expect(m('x/report[1].pdf', false)).toBe(true);
    expect(m('x/report1.pdf', false)).toBe(true);
    expect(m('a{b,c}.txt', false)).toBe(true);
    expect(m('ab.txt', false)).toBe(true);
    expect(m('ad.txt', false)).toBe(false);
    expect(m('report2.pdf', false)).toBe(false);
  });

  it('matches any of several patterns, case-insensitively only for the defaults', () => {
    const m = compileIgnore({ ignore: ['*.bak', '*.old'], ignoreDefaults: true }, root);
    expect(m('a/X.OLD', false)).toBe(false);
    expect(m('a/x.old', false)).toBe(true);
    expect(m('a/x.bak', false)).toBe(true);
    expect(m('a/THUMBS.DB', false)).toBe(true);
  });
});

describe('compileIgnore user globs', () => {
  const m = compileIgnore({ ignore: ['drafts/**', '*.bak', 'cache/', '/export/tmp', '# comment', ''], ignoreDefaults: true }, root);

  it('anchors globs with a slash at the mapping root', () => {
    expect(m('drafts', true)).toBe(true);
    expect(m('drafts/a/b.png', false)).toBe(true);
    expect(m('x/drafts/a.png', false)).toBe(false);
    expect(m('export/tmp', true)).toBe(true);
    expect(m('export/tmp/a.png', false)).toBe(true);
    expect(m('a/export/tmp', true)).toBe(false);
  });

  it('matches slash-less globs at any depth, dot files included', () => {
    expect(m('a.bak', false)).toBe(true);
    expect(m('deep/er/.old.bak', false)).toBe(true);
    expect(m('a.bak.png', false)).toBe(false);
  });

  it('restricts trailing-slash globs to folders, and the matcher checks ancestors', () => {
    expect(m('cache', true)).toBe(true);
    expect(m('cache', false)).toBe(false);
    expect(m('x/cache/a.png', false)).toBe(true);
    expect(m.shallow('x/cache/a.png', false)).toBe(false);
  });

  it('rejects negation and whole-tree globs with a typed error', () => {
    for (const bad of ['!keep.tmp', '**', '/']) {
      let err: unknown;
      try {
        compileIgnore({ ignore: [bad], ignoreDefaults: true }, root);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SyncError);
      expect((err as SyncError).code).toBe('IGNORE_INVALID');
    }
  });
});

describe('compileIgnore extraAbsolute', () => {
  it('ignores the state directory inside the mapping and everything under it', () => {
    const m = compileIgnore({ ignore: [], ignoreDefaults: true, extraAbsolute: ['/srv/share/.squidex-sync', '/var/lib/other'] }, root);
    expect(m('.squidex-sync', true)).toBe(true);
    expect(m('.squidex-sync/state.db', false)).toBe(true);
    expect(m('.squidex-sync-not', true)).toBe(false);
    expect(m('var/lib/other', true)).toBe(false);
  });
});
