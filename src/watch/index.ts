export { compileIgnore, DEFAULT_IGNORE_DIRS, DEFAULT_IGNORE_FILES, type IgnoreMatcher, type IgnoreOptions } from './ignore.js';
export { detectFsType, findMount, isNetworkFsType, parseMountinfo, parseProcMounts, type FsTypeInfo, type MountEntry } from './fstype.js';
export { detectWindows, parseDarwinMount, parseNetUse, uncShare } from './fstype-other.js';
export { walkMapping, type FileStat, type SkipReason, type WalkError, type WalkOptions, type WalkResult } from './walk.js';
export { diffLean, type DiffResult, type LeanDiffResult } from './diff.js';
export { classifyWatchError, startWatcher, type Watcher, type WatcherOptions, type WatchKind } from './watcher.js';
export { StabilityGate } from './stability.js';
export type { Subscription, WatchBackend, WatchEvent } from './parcel.js';
