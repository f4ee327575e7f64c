/**
 * The local page: one self-contained document (no CDN, no fonts, no build
 * step). It asks /api/overview every two seconds and builds the DOM with
 * textContent only, so a file name can never become markup.
 */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>squidex-sync</title>
<style>
  :root { color-scheme: light dark; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --muted: #6e7781; }
  body { font: 1rem/1.5 system-ui, sans-serif; margin: 0 auto; padding: 1rem; max-width: 70rem; }
  h1 { font-size: 1.4rem; margin: 0 0 .5rem; }
  h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #8884; vertical-align: top; }
  td.path { word-break: break-all; }
  .state { font-weight: 600; }
  .state.ok { color: var(--ok); } .state.warn { color: var(--warn); } .state.bad { color: var(--bad); }
  .muted { color: var(--muted); }
  progress { width: 10rem; vertical-align: middle; }
  button { font: inherit; padding: .2rem .7rem; margin: 0 .2rem .2rem 0; cursor: pointer; }
  button:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
  #banner:empty { display: none; }
  #banner { padding: .5rem .8rem; border-left: 4px solid var(--bad); background: #cf222e14; margin: .5rem 0; }
  #message:empty { display: none; }
  #message { padding: .4rem .8rem; border-left: 4px solid #0969da; margin: .5rem 0; }
</style>
</head>
<body>
<header>
  <h1>squidex-sync</h1>
  <p class="muted" id="server"></p>
  <div id="banner" role="alert"></div>
  <div id="message" role="status" aria-live="polite"></div>
  <p><button type="button" data-act="pause">Pause all</button><button type="button" data-act="resume">Resume all</button></p>
</header>
<main>
  <section aria-labelledby="h-mappings"><h2 id="h-mappings">Folders</h2>
    <table><thead><tr><th scope="col">Mapping</th><th scope="col">State</th><th scope="col">Files</th><th scope="col">Actions</th></tr></thead><tbody id="mappings"></tbody></table>
  </section>
  <section aria-labelledby="h-held" id="held-section" hidden><h2 id="h-held">Deletions held</h2>
    <table><thead><tr><th scope="col">Mapping</th><th scope="col">Why</th><th scope="col">Files</th><th scope="col">Actions</th></tr></thead><tbody id="held"></tbody></table>
  </section>
  <section aria-labelledby="h-failed" id="failed-section" hidden><h2 id="h-failed">Files that failed</h2>
    <p><button type="button" data-act="retry">Retry all</button></p>
    <table><thead><tr><th scope="col">File</th><th scope="col">Why</th><th scope="col">Actions</th></tr></thead><tbody id="failed"></tbody></table>
  </section>
  <section aria-labelledby="h-used" id="used-section" hidden><h2 id="h-used">Kept: still used by content</h2>
    <p class="muted">Gone from the share, but Squidex refused to delete their assets: content still uses them. Asked again at the next full rescan.</p>
    <table><thead><tr><th scope="col">File</th><th scope="col">Asset</th></tr></thead><tbody id="used"></tbody></table>
  </section>
  <section aria-labelledby="h-drift" id="drift-section" hidden><h2 id="h-drift">Changed in Squidex</h2>
    <p class="muted" id="drift-note"></p>
    <table><thead><tr><th scope="col">File</th><th scope="col">What</th><th scope="col">Asset</th></tr></thead><tbody id="drift"></tbody></table>
  </section>
  <section aria-labelledby="h-uploads" id="uploads-section" hidden><h2 id="h-uploads">Big uploads</h2>
    <table><thead><tr><th scope="col">File</th><th scope="col">Sent</th></tr></thead><tbody id="uploads"></tbody></table>
  </section>
  <section aria-labelledby="h-activity"><h2 id="h-activity">Recent activity</h2>
    <table><thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">File</th><th scope="col">Size</th></tr></thead><tbody id="activity"></tbody></table>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; }
function cell(text, cls) { return el('td', text, cls); }
function size(n) { if (n === null || n === undefined) return ''; const u = ['B', 'KB', 'MB', 'GB', 'TB']; let i = 0; let v = n; while (v >= 1000 && i < u.length - 1) { v /= 1000; i++; } return (i === 0 ? v : v.toFixed(1)) + ' ' + u[i]; }
function time(ms) { return new Date(ms).toLocaleTimeString(); }
function duration(s) { if (s === null) return ''; if (s < 90) return s + ' s'; if (s < 5400) return Math.round(s / 60) + ' min'; return (s / 3600).toFixed(1) + ' h'; }
function button(label, act, args, confirmText) {
  const b = el('button', label); b.type = 'button';
  b.addEventListener('click', () => act && send(act, args, confirmText));
  return b;
}
async function send(act, args, confirmText) {
  if (confirmText && !window.confirm(confirmText)) return;
  const res = await fetch('/api/' + act, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(args || {}), credentials: 'same-origin' });
  const body = await res.json().catch(() => ({ message: 'HTTP ' + res.status }));
  $('message').textContent = body.message || '';
  refresh();
}
for (const b of document.querySelectorAll('[data-act]')) b.addEventListener('click', () => send(b.dataset.act, {}));
const STATE_CLASS = { 'in sync': 'ok', 'syncing': 'ok', 'paused': 'warn', 'unreachable': 'bad', 'credentials refused': 'bad', 'not mounted': 'bad' };
function stateCell(m, o) {
  const td = el('td');
  let text = m.state;
  if (m.state === 'syncing') text = 'syncing ' + (m.progress.done + 1 > m.progress.total ? m.progress.done : m.progress.done + 1) + ' of ' + m.progress.total;
  if (m.state === 'unreachable') text = 'Squidex unreachable' + (o.squidex.since ? ' since ' + time(o.squidex.since) : '') + '; ' + m.waiting + ' files waiting';
  if (m.state === 'not mounted') text = 'share not mounted';
  td.append(el('span', text, 'state sync-state ' + (STATE_CLASS[m.state] || '')));
  if (m.state === 'syncing') {
    const p = el('progress'); p.max = m.progress.total; p.value = m.progress.done; p.setAttribute('aria-label', 'progress of ' + m.name);
    td.append(' ', p);
    if (m.progress.perSecond > 0) td.append(el('div', m.progress.perSecond.toFixed(1) + ' files/s, about ' + duration(m.progress.etaSeconds) + ' left', 'muted'));
  }
  return td;
}
function render(o) {
  const s = o.squidex;
  $('server').textContent = 'Squidex ' + s.url + ', app ' + s.app;
  $('banner').textContent = s.state === 'refused' ? 'Squidex refused the credentials' + (s.reason ? ': ' + s.reason : '') + '. Uploads wait until they work again.'
    : s.state === 'unreachable' ? 'Squidex is unreachable' + (s.since ? ' since ' + time(s.since) : '') + (s.reason ? ' (' + s.reason + ')' : '') + '. Files wait and go out by themselves when it answers.' : '';
  const mb = $('mappings'); mb.replaceChildren();
  const held = $('held'); held.replaceChildren();
  for (const m of o.mappings) {
    const name = el('td'); name.append(el('div', m.name, 'state'), el('div', m.local + ' → ' + (m.remote || '/'), 'muted'));
    const files = cell(m.inSync + ' in sync' + (m.waiting ? ', ' + m.waiting + ' waiting' : '') + (m.failed ? ', ' + m.failed + ' failed' : ''));
    const acts = el('td');
    acts.append(m.paused ? button('Resume', 'resume', { mapping: m.name }) : button('Pause', 'pause', { mapping: m.name }));
    const tr = el('tr'); tr.append(name, stateCell(m, o), files, acts); mb.append(tr);
    if (m.guard || m.heldDeletes > 0) {
      const h = el('tr');
      const a = el('td');
      if (m.guard && !m.guard.includes('is missing or unreadable')) a.append(button('Delete them', 'deletes/confirm', { mapping: m.name }, 'Delete the assets of the ' + m.heldDeletes + ' files gone from ' + m.name + ' on the server?'), button('Keep', 'deletes/keep', { mapping: m.name }));
      h.append(cell(m.name), cell(m.guard || 'held for the move window'), cell(String(m.heldDeletes)), a);
      held.append(h);
    }
  }
  $('held-section').hidden = held.children.length === 0;
  const fb = $('failed'); fb.replaceChildren();
  for (const f of o.failed) {
    const a = el('td'); a.append(button('Retry', 'retry', { mapping: f.mapping, path: f.path }));
    const tr = el('tr'); tr.append(cell(f.mapping + ': ' + f.path, 'path'), cell(f.error || f.code || 'unknown error'), a); fb.append(tr);
  }
  $('failed-section').hidden = o.failed.length === 0;
  const kb = $('used'); kb.replaceChildren();
  for (const k of o.stillUsed || []) { const tr = el('tr'); tr.append(cell(k.mapping + ': ' + k.path, 'path'), cell(k.assetId)); kb.append(tr); }
  $('used-section').hidden = kb.children.length === 0;
  const drift = o.drift ? o.drift.items : [];
  const db = $('drift'); db.replaceChildren();
  for (const d of drift) { const tr = el('tr'); tr.append(cell(d.mapping + ': ' + d.path, 'path'), cell(d.kind + ': ' + d.detail), cell(d.assetId, 'muted')); db.append(tr); }
  const note = [];
  if (o.drift && o.drift.verifiedAt) note.push('Last verify: ' + new Date(o.drift.verifiedAt).toLocaleString() + '.');
  if (drift.some((d) => d.kind !== 'unknown')) note.push(o.drift.mode === 'restore' ? 'The daemon could not put these back; its log says why.' : 'Left as it is (sync.serverChanges: report); squidex-sync verify --repair uploads the files on the share again.');
  if (drift.some((d) => d.kind === 'unknown')) note.push('Assets not from the share are listed, never deleted.');
  if (o.drift && o.drift.total > drift.length) note.push('Showing ' + drift.length + ' of ' + o.drift.total + '.');
  $('drift-note').textContent = note.join(' ');
  $('drift-section').hidden = drift.length === 0;
  const ub = $('uploads'); ub.replaceChildren();
  for (const u of o.uploads) { const tr = el('tr'); tr.append(cell(u.mapping + ': ' + u.path, 'path'), cell(size(u.sent) + ' of ' + size(u.total))); ub.append(tr); }
  $('uploads-section').hidden = o.uploads.length === 0;
  const ab = $('activity'); ab.replaceChildren();
  if (o.activity.length === 0) { const tr = el('tr'); const td = cell('Nothing yet since the daemon started.', 'muted'); td.colSpan = 4; tr.append(td); ab.append(tr); }
  for (const a of o.activity) {
    const file = el('td', undefined, 'path');
    if (a.link) { const l = el('a', a.mapping + ': ' + a.path); l.href = a.link; l.rel = 'noreferrer'; l.target = '_blank'; file.append(l); } else file.textContent = a.mapping + ': ' + a.path;
    const tr = el('tr'); tr.append(cell(time(a.at)), cell(a.action), file, cell(size(a.size))); ab.append(tr);
  }
}
async function refresh() {
  try {
    const res = await fetch('/api/overview', { credentials: 'same-origin' });
    if (res.status === 401) { $('banner').textContent = 'This page needs its token: run squidex-sync open.'; return; }
    render(await res.json());
  } catch (e) { $('banner').textContent = 'The daemon does not answer (stopped?).'; }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
