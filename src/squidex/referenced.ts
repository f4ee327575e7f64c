import { SquidexError } from './errors.js';

/** Squidex's answer to a delete with checkReferrers when content still uses the asset (reference §3.5). */
export const OBJECT_REFERENCED = 'OBJECT_REFERENCED';

export function isReferencedError(e: unknown): boolean {
  return e instanceof SquidexError && e.status === 400 && e.errorCode === OBJECT_REFERENCED;
}
