import path from 'node:path';
import picomatch from 'picomatch';
import { SyncError } from '../lib/errors.js';

/**
 * `(relPath, isDir) => true` when the path must never be synced. relPath is POSIX,
 * relative to the mapping root, without a leading slash.
 *
 * Calling the matcher itself checks every ancestor folder as well (`a/.git/config`
 * is ignored because `a/.git` is), so any caller can ask about any path. The walker
 * and the watcher never descend into an ignored folder and use `shallow`, which
 * checks only the last segment's rules, to avoid re-testing ancestors per file.
 */
export interface IgnoreMatcher {
  (relPath: string, isDir: boolean): boolean;
  shallow(relPath: string, isDir: boolean): boolean;
}

export interface IgnoreOptions {
  /** User globs relative to the mapping root, gitignore-like (see compileIgnore). */
  ignore: string[];
  /** false turns DEFAULT_IGNORE off (the user's globs still apply). */
  ignoreDefaults: boolean;
  /** Absolute paths always ignored with everything under them (the state directory when it lies inside a mapping). */
  extraAbsolute?: string[];
}

/**
 * OS and editor junk, matched case-insensitively against the basename at any depth
 * (the shares we watch are often SMB exports of Windows or macOS clients, where
 * `thumbs.db` and `Thumbs.db` are the same file). Each is here because syncing it
 * would put junk, a half-written file or someone's lock into Squidex:
 */
export const DEFAULT_IGNORE_FILES: readonly string[] = [
  '.DS_Store', // macOS Finder view settings
  'Thumbs.db', // Windows Explorer thumbnail cache
  'desktop.ini', // Windows folder customisation
  '~$*', // Microsoft Office owner/lock file while a document is open
  '*.tmp', // temporary files of Office, Photoshop, installers; renamed away when done
  '.~lock.*#', // LibreOffice lock file
  '*.part', // partial download (Firefox, KDE, curl -o with some tools)
  '*.crdownload', // Chrome partial download
  '._*', // AppleDouble resource forks macOS writes on SMB/NFS shares
];

/** Folders skipped whole (matched only when the entry is a directory). */
export const DEFAULT_IGNORE_DIRS: readonly string[] = [
  '.git', // a repository's internals are not assets
  '$RECYCLE.BIN', // Windows recycle bin on a shared or removable drive
  '.Trash-*', // freedesktop trash on a removable or shared drive (.Trash-1000)
  '@eaDir', // Synology thumbnail/index folders on NAS shares
];

type Test = (s: string) => boolean;
const NEVER: Test = () => false;

/**
 * One regex for all patterns: picomatch's matcher for a list runs each pattern
 * through its generic test in turn, and a walk asks for every file. Like
 * picomatch, a name equal to a pattern
 * matches even where the pattern's regex would not (`report[1].pdf`).
 */
function compile(patterns: string[], nocase: boolean): Test {
  if (patterns.length === 0) return NEVER;
  const literal = new Set(patterns);
  const re = new RegExp(patterns.map((p) => `(?:${picomatch.makeRe(p, { dot: true, nocase }).source})`).join('|'), nocase ? 'i' : '');
  return (s) => s !== '' && (literal.has(s) || re.test(s));
}

function invalid(pattern: string, why: string): SyncError {
  return new SyncError('IGNORE_INVALID', `ignore pattern "${pattern}" ${why}`, {
    hint: 'Use globs relative to the mapping folder, e.g. "drafts/**" or "*.bak".',
  });
}

/** The ignore rules of a mapping. */
export function ignoreSpec(m: { ignore: string[]; ignoreDefaults: boolean }, stateFile: string): IgnoreOptions {
  // The state folder may sit inside a mapping; its database must never be uploaded.
  return { ignore: m.ignore, ignoreDefaults: m.ignoreDefaults, extraAbsolute: [path.dirname(stateFile)] };
}

/**
 * Compiles the ignore rules of one mapping.
 *
 * User globs follow gitignore where it matters: a glob with no slash (`*.bak`,
 * `node_modules/`) matches the basename at any depth; a glob with a slash
 * (`drafts/**`, `/export/tmp`) is anchored at the mapping root; a trailing slash
 * restricts it to folders. `dir/**` also matches `dir` itself, so the folder is
 * not even walked. Negation (`!keep.tmp`) is not supported and is rejected
 * rather than silently ignored.
 */
export function compileIgnore(opts: IgnoreOptions, root: string): IgnoreMatcher {
  const baseAny: string[] = [];
  const baseDir: string[] = [];
  const pathAny: string[] = [];
  const pathDir: string[] = [];
  for (const raw of opts.ignore) {
    let p = raw.trim();
    if (p === '' || p.startsWith('#')) continue;
    if (p.startsWith('!')) throw invalid(raw, 'uses negation (!), which is not supported');
    if (p.includes('\\') && !/\\[*?[\]{}()!]/.test(p)) throw invalid(raw, 'uses backslashes; write paths with /');
    const dirOnly = p.endsWith('/');
    if (dirOnly) p = p.replace(/\/+$/, '');
    const anchored = p.includes('/');
    p = p.replace(/^\/+/, '');
    if (p === '' || p === '**') throw invalid(raw, 'would ignore the whole mapping');
    (anchored ? (dirOnly ? pathDir : pathAny) : dirOnly ? baseDir : baseAny).push(p);
  }

  const defFile = opts.ignoreDefaults ? compile([...DEFAULT_IGNORE_FILES], true) : NEVER;
  const defDir = opts.ignoreDefaults ? compile([...DEFAULT_IGNORE_DIRS], true) : NEVER;
  const userBase = compile(baseAny, false);
  const userBaseDir = compile(baseDir, false);
  const userPath = compile(pathAny, false);
  const userPathDir = compile(pathDir, false);

  const absRoot = path.resolve(root);
  const extra = (opts.extraAbsolute ?? [])
    .map((a) => path.relative(absRoot, path.resolve(a)).split(path.sep).join('/'))
    // Outside the mapping (or the root itself, which cannot be ignored) needs no rule.
    .filter((r) => r !== '' && !r.startsWith('../') && r !== '..' && !path.isAbsolute(r));

  const shallow = (relPath: string, isDir: boolean): boolean => {
    const slash = relPath.lastIndexOf('/');
    const base = slash < 0 ? relPath : relPath.slice(slash + 1);
    if (defFile(base) || userBase(base) || userPath(relPath)) return true;
    if (isDir && (defDir(base) || userBaseDir(base) || userPathDir(relPath))) return true;
    for (const e of extra) if (relPath === e || relPath.startsWith(`${e}/`)) return true;
    return false;
  };

  const full = ((relPath: string, isDir: boolean): boolean => {
    if (shallow(relPath, isDir)) return true;
    for (let i = relPath.indexOf('/'); i > 0; i = relPath.indexOf('/', i + 1)) {
      if (shallow(relPath.slice(0, i), true)) return true;
    }
    return false;
  }) as IgnoreMatcher;
  full.shallow = shallow;
  return full;
}
