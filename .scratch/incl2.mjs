import { readFileSync, readdirSync } from 'node:fs';
const f = readdirSync('/tmp/prof').sort().filter((x) => x.includes('.0.001.'))[1];
const p = JSON.parse(readFileSync('/tmp/prof/' + f));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map();
p.samples.forEach((id, i) => {
  const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const cf = byId.get(cur).callFrame;
    if (/dist\/(worker|metadata|state)\//.test(cf.url)) seen.add(cf.url.split('/').slice(-2).join('/') + ' ' + cf.functionName);
  }
  for (const k of seen) incl.set(k, (incl.get(k) ?? 0) + dt);
});
[...incl].sort((a, b) => b[1] - a[1]).slice(0, 40).forEach(([k, v]) => console.log(v.toFixed(0).padStart(6), k));
