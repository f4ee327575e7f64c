import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import { printableDeep } from '../lib/printable.js';
import type { SquidexClient } from '../squidex/index.js';
import type { State } from '../state/index.js';
import type { PlanItem, PlanTus } from '../worker/plan.js';
import { EXIT } from './exit.js';

/** The plan, from reads only: the state is a throw-away copy and nothing is sent but GETs (and an OPTIONS to ask for tus). */
export async function dryRun(config: Config, opts: { allowMassDelete: boolean }): Promise<number> {
  const [{ default: Database }, { createLogger }, { openState }, { planMapping }, { clientFor, ignoreFor }] = await Promise.all([
    import('better-sqlite3'),
    import('../lib/log.js'),
    import('../state/index.js'),
    import('../worker/plan.js'),
    import('./runtime.js'),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'squidex-sync-dry-'));
  const copy = join(dir, 'state.db');
  try {
    if (existsSync(config.state)) {
      const src = new Database(config.state, { readonly: true, fileMustExist: true });
      try {
        await src.backup(copy);
      } finally {
        src.close();
      }
    }
    const state = openState(copy, { recover: false });
    const client = clientFor(config, createLogger({ level: 'silent' }));
    try {
      const tus = await planTus(config, state, client);
      const items: PlanItem[] = [];
      for (const m of config.mappings) {
        items.push(
          ...(await planMapping(m, ignoreFor(config, m), {
            state,
            client,
            guard: config.deleteGuard,
            allowMassDelete: opts.allowMassDelete,
            tus,
          })),
        );
      }
      console.log(formatPlan(printableDeep(items)));
      return EXIT.OK;
    } finally {
      state.close();
      await client.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function formatPlan(items: PlanItem[]): string {
  if (items.length === 0) return 'dry run: nothing to do, everything is in sync';
  const lines = items.map((i) => `  ${i.action.padEnd(14)}${i.mapping}: ${i.path}${i.detail ? `  (${i.detail})` : ''}`);
  const tally = new Map<string, number>();
  for (const i of items) tally.set(i.action, (tally.get(i.action) ?? 0) + 1);
  const tus = items.filter((i) => i.tus).length;
  const totals = [...tally].map(([a, n]) => `${n} ${a}`).join(', ') + (tus > 0 ? `; ${tus} through tus (resumable, in pieces)` : '');
  return [`dry run (nothing changed): ${totals}`, ...lines].join('\n');
}

/** Does the server take big files through tus (OPTIONS, a read, asked only once a file is big enough), and in which pieces? */
async function planTus(config: Config, state: State, client: SquidexClient): Promise<PlanTus> {
  const [{ TusProtocol }, { rememberedChunk }, { serverKey }] = await Promise.all([
    import('../squidex/tus.js'),
    import('../worker/bigupload.js'),
    import('./runtime.js'),
  ]);
  let asked: Promise<boolean> | undefined;
  const available = (): Promise<boolean> =>
    // Unknown (an error) counts as yes: the daemon tries tus first and falls back.
    (asked ??= new TusProtocol(client).probe().then(
      (p) => p.tus,
      () => true,
    ));
  return {
    aboveBytes: config.upload.tusAboveBytes,
    chunkBytes: rememberedChunk(state.meta, serverKey(config), config.upload.chunkBytes),
    available,
  };
}
