/**
 * Memory for small files' bytes with room before and after them for the
 * multipart envelope (multipart.ts writes the envelope around the bytes in
 * place), and a small free list of it. A first sync reads tens of kilobytes
 * per file into memory outside V8's heap; memory given back once its upload
 * is answered is read into again, instead of adding to the outside memory
 * whose growth makes V8 run full collections (issue 21, loopback row).
 */

/** Room kept around a small file's bytes for the envelope (a file name of 255 bytes fits, %-encoded). */
export const ROOM_BEFORE = 2048;
export const ROOM_AFTER = 64;
/** Memory that allocWithEnvelopeRoom made: its own, so the bytes around the caller's view are free. */
const roomy = new WeakSet<ArrayBufferLike>();
/** Handed out and not given back: only these can be given back, and only once. */
const lent = new WeakSet<ArrayBufferLike>();
/** Sent in a request that did not end in a success: the socket may still hold it; never read into again. */
const spoilt = new WeakSet<ArrayBufferLike>();
/** Free memory by size class (a power of two); FREE_BYTES in all at most. */
const free = new Map<number, ArrayBuffer[]>();
const FREE_BYTES = 8 * 1024 * 1024;
let freeBytes = 0;

function sizeClass(bytes: number): number {
  return 2 ** Math.ceil(Math.log2(bytes));
}

/**
 * `size` bytes for a small file's content, with room before and after for the
 * multipart envelope: sent from memory, the body is then the envelope written
 * around the bytes in place, not a second copy of the file (an allocation and
 * a copy per upload, and memory the GC has to reclaim).
 */
export function allocWithEnvelopeRoom(size: number): Buffer {
  const cls = sizeClass(ROOM_BEFORE + size + ROOM_AFTER);
  const reused = free.get(cls)?.pop();
  if (reused) {
    freeBytes -= cls;
    lent.add(reused);
    return Buffer.from(reused, ROOM_BEFORE, size);
  }
  // allocUnsafeSlow: never a slice of the shared pool, whose neighbouring bytes belong to others.
  const whole = Buffer.allocUnsafeSlow(cls);
  roomy.add(whole.buffer);
  lent.add(whole.buffer);
  return whole.subarray(ROOM_BEFORE, ROOM_BEFORE + size);
}

/** Whether `data` lies in memory of allocWithEnvelopeRoom (so multipart.ts may write around it). */
export function hasEnvelopeRoom(data: Buffer): boolean {
  return roomy.has(data.buffer);
}

/** A request carrying this memory ended without a success: it is never handed out again. */
export function spoil(data: Buffer): void {
  if (roomy.has(data.buffer)) spoilt.add(data.buffer);
}

/**
 * The caller is done with `data` and no view of its memory is used again:
 * the memory may be handed out for another file. Memory that is not
 * allocWithEnvelopeRoom's, already given back, or spoilt is left to the GC.
 */
export function giveBack(data: Buffer): void {
  const memory = data.buffer;
  if (!lent.has(memory)) return;
  lent.delete(memory);
  if (spoilt.has(memory) || !(memory instanceof ArrayBuffer)) return;
  const cls = memory.byteLength;
  if (freeBytes + cls > FREE_BYTES) return;
  const list = free.get(cls);
  if (list) list.push(memory);
  else free.set(cls, [memory]);
  freeBytes += cls;
}
