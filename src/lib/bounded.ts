/**
 * A Map that forgets its least recently set entries past `max`: for
 * per-path bookkeeping whose paths may never come back to clean up after
 * themselves (a file that changed and then vanished).
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    // Re-inserted, so the Map's order is the order of the latest set.
    super.delete(key);
    super.set(key, value);
    if (this.size > this.max) this.delete(this.keys().next().value as K);
    return this;
  }
}
