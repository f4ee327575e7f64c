import type { Hash } from 'node:crypto';
import { DEFAULT_TUS, type InspectedTusUpload, type TusSwitches } from './types.js';

/** An upload under way, as tusdotnet keeps it. */
export interface TusUpload {
  id: string;
  length: number;
  offset: number;
  /** The Upload-Metadata header as sent, echoed by HEAD. */
  rawMetadata: string;
  metadata: Map<string, string>;
  hash: Hash;
  chunks: Buffer[] | null;
  expiresAt: number;
}

/** Uploads under way and the switches tests set; the routes live in tus.ts. */
export class TusStore {
  readonly uploads = new Map<string, TusUpload>();
  switches: TusSwitches;

  constructor(initial: Partial<TusSwitches> = {}) {
    this.switches = { ...DEFAULT_TUS, ...checkSwitches(initial) };
  }

  update(patch: Partial<TusSwitches>): void {
    this.switches = { ...this.switches, ...checkSwitches(patch) };
  }

  /** Every upload expires now (a client that comes back after two days). */
  expireAll(): void {
    for (const u of this.uploads.values()) u.expiresAt = 0;
  }

  live(id: string): TusUpload | undefined {
    const u = this.uploads.get(id);
    if (u && u.expiresAt <= Date.now()) {
      this.uploads.delete(id);
      return undefined;
    }
    return u;
  }

  inspect(): InspectedTusUpload[] {
    return [...this.uploads.values()]
      .filter((u) => u.expiresAt > Date.now())
      .map((u) => ({ id: u.id, offset: u.offset, length: u.length, metadata: Object.fromEntries(u.metadata) }));
  }
}

export class TusSwitchError extends Error {}

function checkSwitches(p: Partial<TusSwitches>): Partial<TusSwitches> {
  for (const [k, v] of Object.entries(p)) {
    if (!(k in DEFAULT_TUS)) throw new TusSwitchError(`unknown tus switch "${k}"`);
    if (k === 'enabled' ? typeof v !== 'boolean' : !(typeof v === 'number' && Number.isInteger(v) && v >= 0)) {
      throw new TusSwitchError(`tus switch "${k}" has an invalid value ${JSON.stringify(v)}`);
    }
  }
  return p;
}
