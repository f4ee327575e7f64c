import { NO_FAULTS, type FaultSettings } from './types.js';

/** mulberry32: small, seedable, good enough to make a fault run replay exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type FaultAction =
  | { kind: 'none' }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'status'; status: number; retryAfterSec: number | null };

export interface FaultPlan {
  delayMs: number;
  action: FaultAction;
}

/** Draws every request's fault from one seeded stream, in a fixed order, so a seed replays a run. */
export class FaultInjector {
  settings: FaultSettings;
  private readonly random: () => number;

  constructor(seed: number, initial: Partial<FaultSettings> = {}) {
    this.random = prng(seed);
    this.settings = { ...NO_FAULTS, ...validate(initial) };
  }

  update(f: Partial<FaultSettings>): void {
    this.settings = { ...this.settings, ...validate(f) };
  }

  plan(): FaultPlan {
    const s = this.settings;
    const r = () => this.random();
    let delayMs = s.latencyMs;
    if (s.latencySpikeRate > 0 && r() < s.latencySpikeRate) delayMs += s.latencySpikeMs;
    const roll = r();
    let edge = 0;
    const hit = (rate: number): boolean => {
      if (rate <= 0) return false;
      edge += rate;
      return roll < edge;
    };
    let action: FaultAction = { kind: 'none' };
    if (s.forceStatus !== null) return { delayMs, action: { kind: 'status', status: s.forceStatus, retryAfterSec: s.retryAfterSec } };
    if (hit(s.resetRate)) action = { kind: 'reset' };
    else if (hit(s.hangRate)) action = { kind: 'hang' };
    else if (hit(s.rate429)) action = { kind: 'status', status: 429, retryAfterSec: s.retryAfterSec };
    else if (hit(s.rate5xx)) {
      const status = [500, 502, 503][Math.floor(r() * 3)];
      // Only a 503 may say when to come back, as a proxy in front of Squidex would.
      action = { kind: 'status', status, retryAfterSec: status === 503 ? s.retryAfterSec : null };
    }
    return { delayMs, action };
  }
}

export class FaultSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultSettingsError';
  }
}

function validate(f: Partial<FaultSettings>): Partial<FaultSettings> {
  const out: Partial<FaultSettings> = {};
  for (const [k, v] of Object.entries(f ?? {})) {
    if (!(k in NO_FAULTS)) throw new FaultSettingsError(`unknown fault setting '${k}'`);
    if (k === 'down' || k === 'htmlErrors') {
      if (typeof v !== 'boolean') throw new FaultSettingsError(`${k} must be a boolean`);
    } else if (k === 'forceStatus') {
      if (v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 100 || v > 599))
        throw new FaultSettingsError('forceStatus must be an HTTP status (100–599) or null');
    } else if (k === 'failUploadsNamed') {
      if (v !== null && typeof v !== 'string') throw new FaultSettingsError('failUploadsNamed must be a file name or null');
    } else if (k === 'retryAfterSec') {
      if (v !== null && (typeof v !== 'number' || v < 0)) throw new FaultSettingsError('retryAfterSec must be a number ≥ 0 or null');
    } else if (k === 'capacity') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
        throw new FaultSettingsError('capacity must be a whole number ≥ 0 (0 = no limit)');
    } else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (k.startsWith('rate') || k.endsWith('Rate') ? v > 1 : false)) {
      throw new FaultSettingsError(`${k} must be a number ≥ 0${k.toLowerCase().includes('rate') ? ' and ≤ 1' : ''}`);
    }
    (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
