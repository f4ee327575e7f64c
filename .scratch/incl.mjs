import { readFileSync, readdirSync } from 'node:fs';
for (const f of readdirSync('/tmp/prof').sort().filter((x) => x.includes('.0.001.'))) {
  const p = JSON.parse(readFileSync('/tmp/prof/' + f));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const groups = { exifr: /full\.umd\.js/, sniff: /dist\/metadata\//, annotate: /dist\/worker\/(annotate|annotation|sidecar|stamps)\.js/, fxp: /fast-xml-parser|path-expression/ , gc: /^$/ };
  const incl = {}; let total = 0;
  p.samples.forEach((id, i) => {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const self = byId.get(id);
    if (self.callFrame.functionName === '(idle)') return;
    total += dt;
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const url = byId.get(cur).callFrame.url;
      for (const [g, re] of Object.entries(groups)) if (g !== 'gc' && re.test(url)) seen.add(g);
    }
    if (self.callFrame.functionName === '(garbage collector)') seen.add('gc');
    for (const g of seen) incl[g] = (incl[g] ?? 0) + dt;
  });
  console.log(f, 'busy', total.toFixed(0), JSON.stringify(Object.fromEntries(Object.entries(incl).map(([k, v]) => [k, Math.round(v)]))));
}
