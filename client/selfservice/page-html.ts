/**
 * The self-service page: one server-rendered HTML document (every value escaped) with a small
 * inline script for search, the category filter, the buttons and status polling; no build step.
 * It follows the system's light or dark appearance, is usable with the keyboard alone (native
 * buttons, inputs and visible focus; focus stays on the row when its buttons change), and stays
 * quick with 1,000 items: rows are rendered once, filtering only toggles `hidden`, and a poll
 * rewrites only the rows whose status changed. The script and style carry a per-response nonce
 * that the Content-Security-Policy requires, so nothing injected into the page could run.
 */
import type { Catalogue, OfferView } from './catalogue.js';
import type { PendingUpdateView } from './pending-updates.js';
import type { ItemStatus } from './status.js';
import { encodeResourceName } from '../sync/repo-urls.js';

/** What a status poll returns for one item. */
export interface ItemStatusJson {
  name: string;
  kind: ItemStatus['kind'];
  text: string;
  buttons: { action: string; label: string }[];
  percent?: number;
}

/** `&<>"'` escaped for HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `1536` → `1.5 KB`; sizes as Finder shows them (powers of 1000). */
export function formatSize(bytes: number): string {
  if (bytes <= 0) return '';
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** The status poll's answer for the catalogue. */
export function statusJson(catalogue: Catalogue): { items: ItemStatusJson[]; busy: boolean } {
  const items = catalogue.offers.map((o) => ({
    name: o.name,
    kind: o.status.kind,
    text: o.statusText,
    buttons: o.actions.map((action) => ({ action, label: buttonLabel(action, o.status.kind) })),
    ...(o.status.kind === 'installing' && o.status.percent !== undefined
      ? { percent: o.status.percent }
      : {}),
  }));
  return { items, busy: items.some((i) => i.kind === 'installing') };
}

const BUTTON_LABEL: Record<string, string> = { install: 'Install', remove: 'Remove' };

function buttonLabel(action: string, status: ItemStatus['kind']): string {
  if (action === 'install' && status === 'update-available') return 'Update';
  if (action === 'remove' && status === 'will-be-installed') return 'Cancel';
  if (action === 'install' && status === 'will-be-removed') return 'Keep';
  return BUTTON_LABEL[action] ?? action;
}

/** What a row shows, compared by the script to skip rows a poll does not change. */
function rowState(text: string, actions: readonly string[], percent: number | undefined): string {
  return `${text}|${actions.join(',')}|${percent ?? ''}`;
}

function renderOffer(o: OfferView): string {
  const e = escapeHtml;
  const percent = o.status.kind === 'installing' ? o.status.percent : undefined;
  const search = [o.displayName, o.name, o.description, o.category, o.developer]
    .join(' ')
    .toLowerCase();
  const icon = o.icon
    ? `<img class="icon" src="/icons/${e(encodeResourceName(o.icon))}" alt="" width="48" height="48" loading="lazy" decoding="async">`
    : `<span class="icon placeholder" aria-hidden="true">${e(o.displayName.slice(0, 1).toUpperCase())}</span>`;
  const meta = [
    o.version && `Version ${o.version}`,
    formatSize(o.sizeBytes),
    o.category,
    o.developer,
  ].filter((x) => x !== '');
  const buttons = o.actions
    .map(
      (a) =>
        `<button type="button" data-action="${e(a)}" aria-label="${e(`${buttonLabel(a, o.status.kind)} ${o.displayName}`)}">${e(buttonLabel(a, o.status.kind))}</button>`,
    )
    .join('');
  return `<li class="item" tabindex="-1" data-name="${e(o.name)}" data-search="${e(search)}" data-category="${e(o.category)}" data-state="${e(rowState(o.statusText, o.actions, percent))}">
${icon}<div class="body"><h3>${e(o.displayName)}${o.featured ? ' <span class="badge">Featured</span>' : ''}</h3>
<p class="meta">${meta.map(e).join(' · ')}</p>${o.description ? `<p class="desc">${e(o.description)}</p>` : ''}${o.note ? `<p class="note">${e(o.note)}</p>` : ''}</div>
<div class="side"><span class="status" data-kind="${e(o.status.kind)}">${e(o.statusText)}</span><progress max="100"${percent === undefined ? ' hidden' : ` value="${percent}"`}></progress><div class="buttons">${buttons}</div></div></li>`;
}

function renderPending(p: PendingUpdateView): string {
  const e = escapeHtml;
  const when = p.deadline
    ? ` <span class="deadline">— installs by <time datetime="${e(p.deadline)}">${e(
        new Date(p.deadline).toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short' }),
      )}</time></span>`
    : '';
  const restart = p.restart ? ' <span class="badge">Restart</span>' : '';
  return `<li><strong>${e(p.displayName)}</strong> ${e(p.version)}${restart}${when}</li>`;
}

const STYLE = `
:root{color-scheme:light dark;--bg:#f6f6f7;--card:#fff;--text:#1d1d1f;--muted:#5f6368;--line:#d9d9de;--accent:#0a60d0;--accent-text:#fff;--ok:#137333;--bad:#b3261e;--focus:#0a60d0}
@media (prefers-color-scheme:dark){:root{--bg:#161618;--card:#222226;--text:#f2f2f5;--muted:#a8a8b0;--line:#3a3a40;--accent:#4c9aff;--accent-text:#0b1220;--ok:#5bd17c;--bad:#ff8a80;--focus:#8ab8ff}}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",system-ui,sans-serif;background:var(--bg);color:var(--text)}
header,main{max-width:60rem;margin:0 auto;padding:1rem 1.25rem}main{padding-top:0}header h1{margin:.5rem 0 0;font-size:1.6rem}header p{margin:.25rem 0 0;color:var(--muted)}
h2{font-size:1.15rem;margin:1.25rem 0 .5rem}.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin-bottom:.75rem}
input,select,button{font:inherit;color:inherit}input,select{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.35rem .5rem}input[type=search]{min-width:16rem}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.items,.pending{list-style:none;margin:0;padding:0}.pending li{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.5rem .75rem;margin-bottom:.4rem}
.item{display:flex;gap:1rem;align-items:flex-start;background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.75rem;margin-bottom:.5rem;content-visibility:auto;contain-intrinsic-size:auto 96px}
.item[hidden]{display:none}.icon{width:48px;height:48px;flex:none;border-radius:10px;object-fit:contain}
.placeholder{display:flex;align-items:center;justify-content:center;background:var(--accent);color:var(--accent-text);font-weight:700;font-size:1.3rem}
.body{flex:1;min-width:0}.body h3{margin:0;font-size:1.02rem}.meta,.note{margin:.15rem 0;color:var(--muted);font-size:.88rem}.desc{margin:.3rem 0 0}
.badge{display:inline-block;font-size:.72rem;font-weight:600;border:1px solid var(--accent);color:var(--accent);border-radius:999px;padding:0 .45rem;vertical-align:middle}
.side{display:flex;flex-direction:column;align-items:flex-end;gap:.35rem;min-width:11rem;text-align:right}
.status{font-size:.9rem;color:var(--muted)}.status[data-kind=installed]{color:var(--ok)}.status[data-kind=failed]{color:var(--bad)}
progress{width:10rem}.buttons{display:flex;gap:.4rem}
button{background:var(--accent);color:var(--accent-text);border:0;border-radius:6px;padding:.35rem .9rem;font-weight:600;cursor:pointer}
button[data-action=remove]{background:transparent;color:var(--text);border:1px solid var(--line)}button:disabled{opacity:.6;cursor:default}
.warnings{color:var(--bad)}.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;

// Plain browser JavaScript, kept small; it builds elements with textContent, never innerHTML.
const SCRIPT = `
(() => {
  const token = document.querySelector('meta[name="abbot-token"]').content;
  const list = document.getElementById('items');
  const rows = Array.from(list.children).map((li) => ({ li, text: li.dataset.search, cat: li.dataset.category }));
  const byName = new Map(rows.map((r) => [r.li.dataset.name, r.li]));
  const q = document.getElementById('q');
  const cat = document.getElementById('cat');
  const count = document.getElementById('count');
  const empty = document.getElementById('empty');
  const announce = document.getElementById('announce');
  let pending = 0;
  const filter = () => {
    pending = 0;
    const words = q.value.toLowerCase().split(/\\s+/).filter(Boolean);
    const c = cat.value;
    let shown = 0;
    for (const r of rows) {
      const show = (!c || r.cat === c) && words.every((w) => r.text.includes(w));
      if (r.li.hidden === show) r.li.hidden = !show;
      if (show) shown++;
    }
    count.textContent = shown + (shown === 1 ? ' item' : ' items');
    empty.hidden = shown !== 0;
  };
  const schedule = () => { if (!pending) pending = requestAnimationFrame(filter); };
  q.addEventListener('input', schedule);
  cat.addEventListener('change', schedule);

  const update = (item) => {
    const li = byName.get(item.name);
    if (!li) return;
    const state = item.text + '|' + item.buttons.map((b) => b.action).join(',') + '|' + (item.percent ?? '');
    if (li.dataset.state === state) return;
    li.dataset.state = state;
    const hadFocus = li.contains(document.activeElement);
    const status = li.querySelector('.status');
    status.textContent = item.text;
    status.dataset.kind = item.kind;
    const bar = li.querySelector('progress');
    bar.hidden = item.percent === undefined;
    if (item.percent !== undefined) bar.value = item.percent;
    const box = li.querySelector('.buttons');
    const name = li.querySelector('h3').firstChild.textContent;
    box.replaceChildren(...item.buttons.map((spec) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.action = spec.action;
      b.textContent = spec.label;
      b.setAttribute('aria-label', b.textContent + ' ' + name);
      return b;
    }));
    if (hadFocus) (box.querySelector('button') || li).focus();
  };

  let timer = 0;
  const poll = async () => {
    clearTimeout(timer);
    let busy = false;
    try {
      const r = await fetch('/api/status', { headers: { 'X-Abbot-Token': token }, cache: 'no-store' });
      if (r.ok) {
        const body = await r.json();
        body.items.forEach(update);
        busy = body.busy;
      }
    } catch {}
    timer = setTimeout(poll, busy ? 1000 : 15000);
  };

  list.addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    const li = button.closest('li');
    const name = li.dataset.name;
    const action = button.dataset.action;
    for (const b of li.querySelectorAll('button')) b.disabled = true;
    let message;
    try {
      const r = await fetch('/api/' + action, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Abbot-Token': token },
        body: JSON.stringify({ name }),
      });
      const body = await r.json().catch(() => ({}));
      message = r.ok ? body.message : (body.error || 'The request failed (' + r.status + ')');
      if (!r.ok) for (const b of li.querySelectorAll('button')) b.disabled = false;
    } catch {
      message = 'Self service is not answering.';
      for (const b of li.querySelectorAll('button')) b.disabled = false;
    }
    if (message) announce.textContent = message;
    poll();
  });
  filter();
  timer = setTimeout(poll, 1000);
})();
`;

/** The whole page for `catalogue`; `token` is embedded for the script's requests. */
export function renderPage(catalogue: Catalogue, token: string, nonce: string): string {
  const e = escapeHtml;
  const pending = catalogue.pending.length
    ? `<section aria-labelledby="pending-h"><h2 id="pending-h">Pending updates</h2><ul class="pending">${catalogue.pending.map(renderPending).join('')}</ul></section>`
    : '';
  const warnings = catalogue.warnings.length
    ? `<p class="warnings" role="alert">${catalogue.warnings.map(e).join('<br>')}</p>`
    : '';
  const options = catalogue.categories
    .map((c) => `<option value="${e(c)}">${e(c)}</option>`)
    .join('');
  const n = catalogue.offers.length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><meta name="abbot-token" content="${e(token)}">
<title>Self Service</title><style nonce="${e(nonce)}">${STYLE}</style></head>
<body><header><h1>Self Service</h1><p>Software your organisation offers for this Mac. Choose Install and it is installed right away.</p></header>
<main>${warnings}${pending}
<section aria-labelledby="apps-h"><h2 id="apps-h">Optional software</h2>
<div class="filters" role="search"><label for="q">Search</label><input id="q" type="search" autocomplete="off" spellcheck="false">
<label for="cat">Category</label><select id="cat"><option value="">All categories</option>${options}</select>
<span id="count" aria-live="polite">${n} ${n === 1 ? 'item' : 'items'}</span></div>
<ul id="items" class="items">${catalogue.offers.map(renderOffer).join('\n')}</ul>
<p id="empty"${n === 0 ? '' : ' hidden'}>${n === 0 ? 'Nothing is offered to this Mac yet.' : 'No items match.'}</p>
</section></main>
<div id="announce" class="sr-only" aria-live="polite"></div>
<script nonce="${e(nonce)}">${SCRIPT}</script></body></html>`;
}

/** The Content-Security-Policy for a page rendered with `nonce`. */
export function pagePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
