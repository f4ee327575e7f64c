import { setFlagsFromString } from 'node:v8';

/** V8 flags this process set at run time (see setV8Flag). */
const set: string[] = [];

/**
 * Sets a V8 flag after launch and remembers it: a worker thread, as it starts,
 * puts V8's flags back to the command line's for the whole process, so whoever
 * starts one calls reapplyV8Flags once it is online.
 */
export function setV8Flag(flag: string): void {
  setFlagsFromString(flag);
  if (!set.includes(flag)) set.push(flag);
}

/** After a worker thread came online: the flags set at run time, again. */
export function reapplyV8Flags(): void {
  for (const f of set) setFlagsFromString(f);
}
