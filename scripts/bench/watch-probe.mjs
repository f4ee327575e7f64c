// Child of watch.mjs: watches one tree with one watcher and nothing else, so
// its process's RSS and CPU are the watcher's. Prints {"ready":true} once
// watching, then {"event","path"} per event (path relative to the root).
//   node watch-probe.mjs parcel|perfolder|chokidar ROOT [CHOKIDAR_DIR]
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './lib.mjs';

const [kind, root, chokidarDir] = process.argv.slice(2);
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const rel = (p) => relative(root, p).split('\\').join('/');

if (kind === 'parcel') {
  const watcher = createRequire(join(ROOT, 'package.json'))('@parcel/watcher');
  const opts = process.platform === 'linux' ? { backend: 'inotify' } : {};
  await watcher.subscribe(
    root,
    (err, events) => {
      if (err) say({ error: err.message });
      for (const e of events) say({ event: e.type, path: rel(e.path) });
    },
    opts,
  );
} else if (kind === 'chokidar') {
  const { watch } = await import(pathToFileURL(join(chokidarDir, 'node_modules', 'chokidar', 'index.js')).href);
  const w = watch(root, { ignoreInitial: true });
  w.on('all', (event, p) => say({ event, path: rel(p) }));
  w.on('error', (e) => say({ error: e.message }));
  await new Promise((r) => w.once('ready', r));
} else if (kind === 'perfolder') {
  // What src/watch/dirwatch.ts did before @parcel/watcher: one fs.watch per
  // folder (inotify reports a folder's children by name), a new folder
  // watched when an event names one.
  const watched = new Map();
  const watchTree = (start) => {
    const stack = [start];
    while (stack.length > 0) {
      const dir = stack.pop();
      if (watched.has(dir)) continue;
      try {
        watched.set(
          dir,
          fs.watch(join(root, dir), (event, name) => {
            if (name === null) return;
            const child = dir === '' ? String(name) : `${dir}/${name}`;
            say({ event, path: child });
            fs.lstat(join(root, child), (e, st) => !e && st.isDirectory() && watchTree(child));
          }),
        );
        for (const d of fs.readdirSync(join(root, dir), { withFileTypes: true }))
          if (d.isDirectory()) stack.push(dir === '' ? d.name : `${dir}/${d.name}`);
      } catch {
        // gone meanwhile
      }
    }
  };
  watchTree('');
} else {
  throw new Error(`unknown watcher ${kind}`);
}
say({ ready: true });
setInterval(() => {}, 1 << 30);
