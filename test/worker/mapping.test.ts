import { describe, expect, it } from 'vitest';
import { joinRemote, remoteDirOf, remoteFileOf } from '../../src/worker/mapping.js';

/** The remote path of a file: segments joined by one slash, empty and `.` segments dropped. */
function reference(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split('/'))
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

describe('remote paths', () => {
  it('join like splitting every part on slashes and dropping empty and `.` segments', () => {
    const parts = [
      '',
      '.',
      '/',
      '//',
      'a',
      '/a',
      'a/',
      'a//b',
      './a',
      'a/.',
      'a/./b',
      '.a',
      'a.',
      '..',
      'a/..',
      'Design/Shared',
      ' ',
      'é/ü',
    ];
    for (const x of parts) for (const y of parts) expect(joinRemote(x, y), `${JSON.stringify([x, y])}`).toBe(reference(x, y));
    expect(joinRemote()).toBe('');
    expect(joinRemote('a', '', 'b', '.', 'c/')).toBe('a/b/c');
  });

  it('put a file at the top of the mapping in the mapping’s folder', () => {
    const m = { name: 'm', local: '/x', remote: 'Design/Shared/', deletes: 'delete', permanentDeletes: false } as const;
    expect(remoteDirOf(m, 'a.txt')).toBe('Design/Shared');
    expect(remoteDirOf(m, 'd/e/a.txt')).toBe('Design/Shared/d/e');
    expect(remoteFileOf(m, 'd/a.txt')).toBe('Design/Shared/d/a.txt');
    expect(remoteFileOf({ ...m, remote: '' }, 'd/a.txt')).toBe('d/a.txt');
  });
});
