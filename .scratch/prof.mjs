import { readFileSync, readdirSync } from 'node:fs';
for (const f of readdirSync('/tmp/prof').sort()) {
  const p = JSON.parse(readFileSync('/tmp/prof/' + f));
  const self = new Map();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const s of p.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const dt = (p.endTime - p.startTime) / p.samples.length / 1000;
  let total = 0;
  const byFile = new Map();
  for (const [id, c] of counts) {
    const n = byId.get(id);
    const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + c * dt);
    const file = n.callFrame.url.split('/').slice(-3).join('/') || n.callFrame.functionName;
    byFile.set(file, (byFile.get(file) ?? 0) + c * dt);
    if (n.callFrame.functionName !== '(idle)') total += c * dt;
  }
  console.log(f, 'busy ms', total.toFixed(0));
  console.log([...byFile].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `  ${v.toFixed(0).padStart(6)} ${k}`).join('\n'));
}
