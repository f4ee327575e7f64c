// The floor of a stat walk in Node: the calls squidex-sync's walker makes
// (readdir with file types, lstat of every file), one thread, nothing else:
// no database, no comparison, no modules. `node scripts/bench/nodewalk.mjs <dir>`
// prints the number of files. Node has no fstatat: every lstat resolves the
// whole path, where find(1) stats each name relative to its open directory.
import { lstatSync, readdirSync } from 'node:fs';

let files = 0;
function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) walk(p);
    else if (lstatSync(p).isFile()) files += 1;
  }
}
walk(process.argv[2]);
console.log(files);
