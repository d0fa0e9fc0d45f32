// The admin page: catalog size, vector-space versions with backfill
// progress, pending encoding jobs, and the latest eval and bench reports.
// Read-only: it calls GET /v1/admin/overview and /v1/admin/reports.
import {
  api, apiKey, setApiKey, uiConfig, setImage, el, clear,
} from './api.js';

const REFRESH_MS = 5000;
const $ = (sel) => document.querySelector(sel);

function status(msg, isError = false) {
  const s = $('#status');
  s.textContent = msg;
  s.classList.toggle('error', isError);
}

function fail(err, what) {
  if (err && (err.status === 401 || err.status === 403)) {
    $('#key-panel').hidden = false;
    status(`${what}: ${err.message}. Paste a key with the admin scope above.`, true);
    return;
  }
  status(`${what} failed: ${err && err.message ? err.message : err}`, true);
}

function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

function fusionText(spec) {
  if (!spec || !Array.isArray(spec.components)) return '';
  const parts = spec.components.map((c) => `${c.modality} ${c.model} (${c.dim}-d, weight ${c.weight})`);
  return [el('strong', {}, spec.strategy || ''), el('br'), parts.join(' + ')];
}

// --- overview --------------------------------------------------------------------

// modelText says what the active model serves: its chosen method or blend,
// each served component's weight and settings, and the stored factors.
function modelText(m) {
  if (!m) return 'none (run vitrine train)';
  const served = (m.serve || []).map((c) => `${c.method}${c.weight !== 1 ? ` ×${c.weight}` : ''}${c.settings ? ` (${c.settings})` : ''}`);
  let s = `v${m.version}: serves ${served.length ? served.join(' + ') : m.method}`;
  if (m.chosen) s += `; search chose ${m.chosen} (NDCG@10 ${m.chosen_ndcg.toFixed(4)})`;
  return s;
}

async function loadOverview() {
  let o;
  try {
    o = await api('/v1/admin/overview');
  } catch (err) {
    fail(err, 'Overview');
    return false;
  }
  $('#stat-products').textContent = o.products.toLocaleString();
  $('#stat-space').textContent = o.active_space === null ? 'none' : `v${o.active_space}`;
  $('#stat-jobs').textContent = o.pending_jobs.toLocaleString();
  $('#stat-spaces').textContent = String(o.spaces.length);
  $('#stat-model').textContent = modelText(o.model);
  $('#updated').textContent = `Updated ${when(o.at)}; refreshes every ${REFRESH_MS / 1000} s.`;
  const body = clear($('#spaces tbody'));
  for (const sp of o.spaces) {
    const done = o.products > 0 ? Math.min(1, sp.vectors / o.products) : 0;
    body.append(el('tr', { dataset: { version: sp.version } },
      el('th', { scope: 'row' }, `v${sp.version}${sp.name ? ` ${sp.name}` : ''}`),
      el('td', {}, el('span', { class: `state ${sp.state}` }, sp.state)),
      el('td', { class: 'num' }, String(sp.dim)),
      el('td', {}, sp.storage),
      el('td', { class: 'vectors' },
        el('progress', { max: '1', value: String(done), 'aria-label': `v${sp.version}: ${Math.round(done * 100)}% of products have a vector` }),
        ` ${sp.vectors.toLocaleString()} / ${o.products.toLocaleString()}`),
      el('td', {}, fusionText(sp.fusion)),
      el('td', {}, when(sp.created_at), sp.activated_at ? [el('br'), `active since ${when(sp.activated_at)}`] : null)));
  }
  if (o.spaces.length === 0) {
    body.append(el('tr', {}, el('td', { colspan: '7' }, 'No vector space yet: run vitrine ingest.')));
  }
  $('#stats').dataset.state = 'ready';
  return true;
}

// --- reports ------------------------------------------------------------------------

// markdown renders the subset BENCHMARKS.md uses (headings, tables, lists,
// fenced code, paragraphs, inline code and bold) as DOM nodes: report text
// is never parsed as HTML.
function markdown(text) {
  const out = el('div', { class: 'markdown' });
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let i = 0;
  const cells = (row) => row.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
  while (i < lines.length) {
    const line = lines[i];
    if (/^```/.test(line)) {
      const code = [];
      for (i++; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
      i++;
      out.append(el('pre', {}, el('code', {}, code.join('\n'))));
      continue;
    }
    const h = line.match(/^(#{1,6})\s+(.*)$/);
    if (h) {
      // Report headings sit under the page's h2 sections.
      out.append(el(`h${Math.min(6, h[1].length + 2)}`, {}, inline(h[2])));
      i++;
      continue;
    }
    if (/^\s*\|/.test(line) && i + 1 < lines.length && /^\s*\|?\s*:?-{3,}/.test(lines[i + 1])) {
      const head = cells(line);
      const rows = [];
      for (i += 2; i < lines.length && /^\s*\|/.test(lines[i]); i++) rows.push(cells(lines[i]));
      out.append(el('div', { class: 'table-wrap' }, el('table', {},
        el('thead', {}, el('tr', {}, head.map((c) => el('th', { scope: 'col' }, inline(c))))),
        el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, inline(c)))))))));
      continue;
    }
    if (/^\s*[-*]\s+/.test(line)) {
      const items = [];
      for (; i < lines.length && /^\s*[-*]\s+/.test(lines[i]); i++) items.push(lines[i].replace(/^\s*[-*]\s+/, ''));
      out.append(el('ul', {}, items.map((t) => el('li', {}, inline(t)))));
      continue;
    }
    if (!line.trim()) {
      i++;
      continue;
    }
    const para = [];
    for (; i < lines.length && lines[i].trim() && !/^(#|```|\s*\||\s*[-*]\s)/.test(lines[i]); i++) para.push(lines[i]);
    if (para.length === 0) para.push(lines[i++]);
    out.append(el('p', {}, inline(para.join(' '))));
  }
  return out;
}

function inline(text) {
  const nodes = [];
  text.split(/(`[^`]+`)/).forEach((part) => {
    if (/^`[^`]+`$/.test(part)) {
      nodes.push(el('code', {}, part.slice(1, -1)));
      return;
    }
    part.split(/(\*\*[^*]+\*\*)/).forEach((p) => {
      if (/^\*\*[^*]+\*\*$/.test(p)) nodes.push(el('strong', {}, p.slice(2, -2)));
      else if (p) nodes.push(p);
    });
  });
  return nodes;
}

// value renders a JSON value: arrays of objects as tables, objects as
// key/value tables, durations in nanoseconds (keys ending in _ns) as ms.
function value(v, key = '', depth = 0) {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') {
    if (key.endsWith('_ns')) return `${(v / 1e6).toFixed(2)} ms`;
    return Number.isInteger(v) ? v.toLocaleString() : v.toPrecision(4);
  }
  if (typeof v !== 'object') return String(v);
  if (depth > 3) return el('code', {}, JSON.stringify(v));
  if (Array.isArray(v)) {
    if (v.length && v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
      const cols = [...new Set(v.flatMap((x) => Object.keys(x)))];
      return el('div', { class: 'table-wrap' }, el('table', {},
        el('thead', {}, el('tr', {}, cols.map((c) => el('th', { scope: 'col' }, c)))),
        el('tbody', {}, v.map((x) => el('tr', {}, cols.map((c) => el('td', {}, value(x[c], c, depth + 1))))))));
    }
    return v.map((x) => value(x, key, depth + 1)).flatMap((x, i) => (i ? [', ', x] : [x]));
  }
  return el('table', {}, el('tbody', {}, Object.entries(v).map(([k, x]) => el('tr', {},
    el('th', { scope: 'row' }, k), el('td', {}, value(x, k, depth + 1))))));
}

async function loadReports() {
  let r;
  try {
    r = await api('/v1/admin/reports');
  } catch (err) {
    fail(err, 'Reports');
    return;
  }
  const box = clear($('#reports'));
  $('#reports-dir').textContent = r.dir_missing
    ? `No reports directory (${r.dir}): write vitrine eval / vitrine bench JSON reports and plots there.`
    : `JSON reports and plots from ${r.dir}, newest first.`;
  if (r.benchmarks) {
    box.append(el('details', { class: 'report', open: true, dataset: { name: r.benchmarks.name } },
      el('summary', {}, `${r.benchmarks.name} (updated ${when(r.benchmarks.modified)})`),
      r.benchmarks.skipped ? el('p', {}, r.benchmarks.skipped) : markdown(r.benchmarks.text)));
  }
  r.json.forEach((f, i) => {
    box.append(el('details', { class: 'report', open: i === 0, dataset: { name: f.name } },
      el('summary', {}, `${f.name} (${when(f.modified)})`),
      f.skipped ? el('p', {}, f.skipped) : value(f.data)));
  });
  for (const f of r.markdown) {
    box.append(el('details', { class: 'report', dataset: { name: f.name } },
      el('summary', {}, `${f.name} (${when(f.modified)})`),
      f.skipped ? el('p', {}, f.skipped) : markdown(f.text)));
  }
  if (r.images.length) {
    const plots = el('div', { class: 'plots' });
    for (const f of r.images) {
      const img = el('img', { alt: `Plot ${f.name}` });
      setImage(img, f.url);
      plots.append(el('figure', {}, img, el('figcaption', {}, `${f.name} (${when(f.modified)})`)));
    }
    box.append(el('h3', {}, 'Plots'), plots);
  }
  if (!r.benchmarks && !r.json.length && !r.markdown.length && !r.images.length) {
    box.append(el('p', { class: 'empty' }, 'No reports yet. Run vitrine eval or vitrine bench with --json into the reports directory, or add BENCHMARKS.md.'));
  }
  box.dataset.state = 'ready';
}

async function refresh() {
  const ok = await loadOverview();
  if (ok) status('');
}

async function main() {
  const cfg = await uiConfig();
  $('#key-panel').hidden = !cfg.auth || Boolean(apiKey());
  $('#api-key').value = apiKey();
  $('#key-panel').addEventListener('submit', (e) => {
    e.preventDefault();
    setApiKey($('#api-key').value.trim());
    $('#key-panel').hidden = true;
    refresh();
    loadReports();
  });
  $('#key-forget').addEventListener('click', () => {
    setApiKey('');
    $('#api-key').value = '';
  });
  $('#refresh').addEventListener('click', () => {
    refresh();
    loadReports();
  });
  await Promise.all([refresh(), loadReports()]);
  // Backfill progress and pending jobs move on their own: poll, but not
  // while the tab is hidden or waiting for a key.
  setInterval(() => {
    if (!document.hidden && $('#key-panel').hidden) refresh();
  }, REFRESH_MS);
}

main().catch((err) => fail(err, 'Starting the page'));
