import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Stand-ins for the parts of a Linux server a test cannot use: root (sudo,
 * useradd), systemd (systemctl, journalctl) and the npm registry (npm install
 * -g of a package not published from here). Everything else the README runs
 * is the real thing: install, cp, sh, env files, the squidex-sync binary.
 *
 * The file system root is FAKE_ROOT: the README's /etc, /var and /usr paths
 * are rewritten under it (see `underRoot`), and so are the unit file's.
 */
export interface FakeSystem {
  root: string;
  bin: string;
  /** The environment a login shell of the test's user has on that server. */
  env: NodeJS.ProcessEnv;
}

/** /etc/x, /var/lib/x, /usr/local/bin/x → $FAKE_ROOT/etc/x …, in a command line or a unit file. */
export function underRoot(text: string, root: string): string {
  return text.replace(/(?<![\w$.-])\/(etc|var|usr|run)\//g, `${root}/$1/`);
}

const SUDO = `#!/bin/bash
# sudo: the test's own user plays root and squidex-sync. Like sudo, it clears the environment.
if [ "$1" = "-u" ]; then shift 2; fi
exec env -i PATH="$PATH" HOME="$HOME" FAKE_ROOT="$FAKE_ROOT" FAKE_REPO="$FAKE_REPO" "$@"
`;

const NPM = `#!/bin/bash
# npm: install -g lays the package out as npm does (lib/node_modules + a bin link); root -g names that folder.
lib="$FAKE_ROOT/usr/local/lib/node_modules"
case "$1 $2" in
  "install -g"|"i -g")
    # The registry name, or the tarball \`npm pack\` made in a clone (the README's way: it is not published).
    pkg="\${@: -1}"
    case "$pkg" in squidex-sync|./squidex-sync-*.tgz) ;; *) echo "fake npm: only squidex-sync can be installed" >&2; exit 1 ;; esac
    mkdir -p "$lib" "$FAKE_ROOT/usr/local/bin"
    ln -sfn "$FAKE_REPO" "$lib/squidex-sync"
    chmod +x "$FAKE_REPO/dist/cli/main.js"
    ln -sfn ../lib/node_modules/squidex-sync/dist/cli/main.js "$FAKE_ROOT/usr/local/bin/squidex-sync"
    echo "added 1 package" ;;
  "root -g") echo "$lib" ;;
  *) echo "fake npm: $* is not part of the walk-through" >&2; exit 1 ;;
esac
`;

const NPX = `#!/bin/bash
# npx: runs a tool the installed package brings along (no registry here).
exec "$FAKE_ROOT/usr/local/lib/node_modules/squidex-sync/node_modules/.bin/$1" "\${@:2}"
`;

const USERADD = `#!/bin/bash
# useradd: the test's own user stands in for the system user.
echo "fake useradd: $*"
`;

const JOURNALCTL = `#!/bin/bash
# journalctl: what the service wrote (-f does not follow here).
cat "$FAKE_ROOT/var/log/journal/squidex-sync.log"
`;

/** systemctl for one unit: reads its [Service] section as systemd would and runs ExecStart detached. */
const SYSTEMCTL = `#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const root = process.env.FAKE_ROOT;
const under = (t) => t.replace(/(?<![\\w$.-])\\/(etc|var|usr|run)\\//g, root + '/$1/');
const args = process.argv.slice(2).filter((a) => !a.startsWith('--') || a === '--now');
const [verb] = args;
const unit = args.find((a, i) => i > 0 && a !== '--now') ?? 'squidex-sync';
const pidFile = join(root, 'run', unit + '.pid');
const log = join(root, 'var/log/journal', unit + '.log');
const alive = (pid) => { if (!(pid > 0)) return false; try { process.kill(pid, 0); return true; } catch { return false; } };
const running = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0) || 0;
function service() {
  const text = readFileSync(join(root, 'etc/systemd/system', unit + '.service'), 'utf8');
  const s = {}; let section = '';
  for (const line of text.split('\\n')) {
    const m = /^\\[(\\w+)\\]/.exec(line); if (m) { section = m[1]; continue; }
    const kv = /^(\\w+)=(.*)$/.exec(line); if (kv && section === 'Service') (s[kv[1]] ??= []).push(kv[2]);
  }
  return s;
}
function start() {
  if (alive(running())) return;
  const s = service();
  const env = { PATH: process.env.PATH };
  for (const e of s.Environment ?? []) { const [k, ...v] = e.split('='); env[k] = v.join('='); }
  for (const f of s.EnvironmentFile ?? []) {
    const file = under(f.replace(/^-/, ''));
    if (!existsSync(file)) { if (f.startsWith('-')) continue; throw new Error('missing ' + file); }
    for (const l of readFileSync(file, 'utf8').split('\\n')) { const m = /^([A-Za-z_]\\w*)=(.*)$/.exec(l.trim()); if (m) env[m[1]] = m[2]; }
  }
  for (const d of s.StateDirectory ?? []) mkdirSync(join(root, 'var/lib', d), { recursive: true });
  const cwd = under(s.WorkingDirectory[0]);
  const [cmd, ...argv] = under(s.ExecStart[0]).split(/\\s+/);
  mkdirSync(join(root, 'var/log/journal'), { recursive: true });
  mkdirSync(join(root, 'run'), { recursive: true });
  const out = openSync(log, 'a');
  const child = spawn(cmd, argv, { cwd, env, detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  writeFileSync(pidFile, String(child.pid));
  child.unref();
}
async function stop() {
  const pid = running();
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 450 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}
if (verb === 'daemon-reload') process.exit(0);
if (verb === 'enable') { if (args.includes('--now')) start(); process.exit(0); }
if (verb === 'start') { start(); process.exit(0); }
if (verb === 'stop') { await stop(); process.exit(0); }
if (verb === 'restart') { await stop(); start(); process.exit(0); }
if (verb === 'status') {
  const pid = running();
  console.log('● ' + unit + '.service\\n     Active: ' + (alive(pid) ? 'active (running)' : 'inactive (dead)') + '\\n   Main PID: ' + pid);
  process.exit(alive(pid) ? 0 : 3);
}
console.error('fake systemctl: ' + verb + ' is not part of the walk-through'); process.exit(1);
`;

export function makeFakeSystem(dir: string, repo: string): FakeSystem {
  const root = join(dir, 'root');
  const bin = join(dir, 'fakebin');
  for (const d of ['etc/systemd/system', 'usr/local/bin', 'var/lib', 'run']) mkdirSync(join(root, d), { recursive: true });
  mkdirSync(bin, { recursive: true });
  const scripts: Record<string, string> = {
    sudo: SUDO,
    npm: NPM,
    npx: NPX,
    useradd: USERADD,
    journalctl: JOURNALCTL,
    'systemctl.mjs': SYSTEMCTL,
  };
  for (const [name, text] of Object.entries(scripts)) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  writeFileSync(join(bin, 'systemctl'), `#!/bin/bash\nexec node "${join(bin, 'systemctl.mjs')}" "$@"\n`);
  chmodSync(join(bin, 'systemctl'), 0o755);
  const nodeDir = join(process.execPath, '..');
  return {
    root,
    bin,
    env: {
      PATH: [bin, join(root, 'usr/local/bin'), nodeDir, '/usr/bin', '/bin'].join(':'),
      HOME: dir,
      FAKE_ROOT: root,
      FAKE_REPO: repo,
      NO_COLOR: '1',
    },
  };
}
