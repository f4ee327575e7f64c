import { readFileSync, readdirSync } from 'node:fs';
const files = readdirSync('/tmp/prof').sort().filter((f) => f.includes('.0.001.'));
const load = (f) => {
  const p = JSON.parse(readFileSync('/tmp/prof/' + f));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const dts = p.timeDeltas; const out = new Map();
  p.samples.forEach((id, i) => {
    const n = byId.get(id); const dt = (dts[i + 1] ?? dts[i]) / 1000;
    const key = (n.callFrame.url.split('/').slice(-2).join('/') || '') + ' ' + (n.callFrame.functionName || '(anon)');
    out.set(key, (out.get(key) ?? 0) + dt);
  });
  return out;
};
const [a, b] = files.map(load);
const keys = new Set([...a.keys(), ...b.keys()]);
const rows = [...keys].map((k) => [k, (b.get(k) ?? 0) - (a.get(k) ?? 0)]).sort((x, y) => y[1] - x[1]);
let sum = 0; for (const [, d] of rows) sum += d;
console.log('total delta', sum.toFixed(0));
for (const [k, d] of rows.slice(0, 45)) console.log(d.toFixed(0).padStart(6), k);
