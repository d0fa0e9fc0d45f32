// The storefront: search with live suggestions and facets, search by photo,
// product view with similar products, and a shopper's recommendations with
// their explanations. Every figure on the page comes from the REST API.
import {
  api, apiKey, setApiKey, uiConfig, isAbort, setImage, el, clear, formatPrice, formatNumber,
} from './api.js';
import { Recorder } from './voice.js';

// Demo shoppers and the histories the page gives them the first time they
// are picked (when the API still answers them with popular items): a taste
// each, so their recommendations differ from the start. The event ids are
// fixed, so seeding twice (another tab, a reload) records nothing new.
const DEMO_USERS = {
  alice: {
    taste: 'apples and fruit',
    events: [
      ['grocery-00-golden-delicious', 'purchase'],
      ['grocery-02-pink-lady', 'purchase'],
      ['grocery-04-royal-gala', 'view'],
      ['grocery-10-mango', 'click'],
      ['grocery-07-kiwi', 'click'],
    ],
  },
  bob: {
    taste: 'milk and yoghurt',
    events: [
      ['grocery-55-arla-natural-yoghurt', 'purchase'],
      ['grocery-41-arla-standard-milk', 'purchase'],
      ['grocery-50-alpro-vanilla-soyghurt', 'click'],
      ['grocery-45-oatly-oat-milk', 'view'],
    ],
  },
  carol: {
    taste: 'vegetables',
    events: [
      ['grocery-62-carrots', 'purchase'],
      ['grocery-71-red-bell-pepper', 'purchase'],
      ['grocery-79-vine-tomato', 'click'],
      ['grocery-80-zucchini', 'view'],
    ],
  },
};

const PRICE_BANDS = ['0-10', '10-25', '25-50', '50-100', '100+'];
const SUGGEST_DELAY_MS = 150;
const USER_STORAGE = 'vitrine.user';

const $ = (sel) => document.querySelector(sel);

const state = {
  query: '',
  filters: { category: '', brands: new Set(), price: '' },
  facets: null, // the facets of the query without filters: stable options
  user: '',
  recIds: [],
  recsUser: '',
  recsSeq: 0,
  recsVersion: 0,
  resultsVersion: 0,
  searchCtl: null,
  recorder: null, // the microphone's Recorder while recording
  suggestCtl: null,
  suggestTimer: 0,
  active: -1,
  dialogProduct: '',
};

// --- small helpers -----------------------------------------------------------

// uuid is a random client event id. crypto.randomUUID exists only in secure
// contexts (https or loopback); a demo served on a LAN address over http
// falls back to the same v4 layout from getRandomValues.
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function status(msg, isError = false) {
  const s = $('#status');
  s.textContent = msg;
  s.classList.toggle('error', isError);
}

function fail(err, what) {
  if (isAbort(err)) return;
  if (err && (err.status === 401 || err.status === 403)) {
    $('#key-panel').hidden = false;
    status(`${what}: ${err.message}. Paste an API key above.`, true);
    return;
  }
  status(`${what} failed: ${err && err.message ? err.message : err}`, true);
}

function categoryText(p) {
  return (p.category || []).join(' › ');
}

function photo(p, cls = 'photo') {
  if (!p.images || p.images.length === 0) {
    return el('div', { class: 'placeholder', role: 'img', 'aria-label': `No photo of ${p.title}` }, 'No photo');
  }
  const img = el('img', { class: cls, alt: p.title, width: 198, height: 198, decoding: 'async' });
  img.addEventListener('error', () => {
    img.replaceWith(el('div', { class: 'placeholder', role: 'img', 'aria-label': `Photo of ${p.title} unavailable` }, 'Photo unavailable'));
  }, { once: true });
  setImage(img, `/media/${encodeURIComponent(p.id)}/0`);
  return img;
}

// card is one product tile. The title button opens the product; its
// ::after covers the tile so the whole card is clickable while the image
// keeps its own alt text and the button its short name.
function card(hit, { rank, why, isNew } = {}) {
  const p = hit.product || { id: hit.id, title: hit.id };
  const li = el('li', { class: 'card', dataset: { id: p.id } });
  li.append(
    photo(p),
    el('div', { class: 'body' },
      el('h3', { class: 'title' },
        el('button', { type: 'button', class: 'open', onclick: () => openProduct(p.id) }, p.title)),
      p.price !== undefined ? el('span', { class: 'price' }, formatPrice(p.price, p.currency)) : null,
      p.category ? el('span', { class: 'cat' }, categoryText(p)) : null,
      p.brand ? el('span', { class: 'cat' }, p.brand) : null),
  );
  if (rank) li.append(el('span', { class: 'rank', 'aria-hidden': 'true' }, `#${rank}`));
  if (isNew) li.append(el('span', { class: 'badge' }, 'new'));
  if (why) {
    li.append(el('div', { class: 'actions' },
      el('span', { class: 'score' }, `score ${formatNumber(hit.score)}`),
      el('button', {
        type: 'button', class: 'why', 'aria-haspopup': 'dialog',
        'aria-label': `Why is ${p.title} recommended?`, onclick: () => why(hit),
      }, 'Why?')));
  }
  return li;
}

function renderGrid(list, hits, opts = {}) {
  clear(list);
  hits.forEach((h, i) => list.append(card(h, { rank: opts.ranked ? i + 1 : 0, ...opts.each?.(h) })));
}

// --- suggestions (ARIA combobox with a listbox) ----------------------------------

function suggestions() {
  return [...$('#suggestions').querySelectorAll('[role=option]')];
}

function closeSuggestions() {
  const box = $('#suggestions');
  box.hidden = true;
  clear(box);
  state.active = -1;
  const q = $('#q');
  q.setAttribute('aria-expanded', 'false');
  q.removeAttribute('aria-activedescendant');
}

function setActive(i) {
  const opts = suggestions();
  if (opts.length === 0) return;
  state.active = (i + opts.length) % opts.length;
  opts.forEach((o, j) => o.setAttribute('aria-selected', String(j === state.active)));
  const o = opts[state.active];
  $('#q').setAttribute('aria-activedescendant', o.id);
  o.scrollIntoView({ block: 'nearest' });
}

function highlighted(text, typed) {
  const i = text.toLowerCase().indexOf(typed.toLowerCase());
  if (!typed || i < 0) return [text];
  return [text.slice(0, i), el('mark', {}, text.slice(i, i + typed.length)), text.slice(i + typed.length)];
}

async function suggest(typed) {
  state.suggestCtl?.abort();
  const ctl = new AbortController();
  state.suggestCtl = ctl;
  const params = new URLSearchParams({ q: typed, k: '8' });
  if (state.user) params.set('user_id', state.user);
  let data;
  try {
    data = await api(`/v1/suggest?${params}`, { signal: ctl.signal });
  } catch (err) {
    if (!isAbort(err)) fail(err, 'Suggestions');
    return;
  }
  if (ctl.signal.aborted || $('#q').value.trim() !== typed) return;
  const box = clear($('#suggestions'));
  state.active = -1;
  $('#q').removeAttribute('aria-activedescendant');
  if (data.suggestions.length === 0) {
    closeSuggestions();
    return;
  }
  data.suggestions.forEach((s, i) => {
    box.append(el('li', {
      id: `sug-${i}`, role: 'option', 'aria-selected': 'false', dataset: { text: s.text },
      // mousedown would blur the input (and close the list) before click.
      onmousedown: (e) => e.preventDefault(),
      onclick: () => choose(s.text),
    }, el('span', {}, highlighted(s.text, typed)), el('span', { class: 'kind' }, s.kind)));
  });
  box.hidden = false;
  $('#q').setAttribute('aria-expanded', 'true');
}

function choose(text) {
  $('#q').value = text;
  closeSuggestions();
  search(text, { resetFilters: true });
}

function onQueryInput() {
  clearTimeout(state.suggestTimer);
  const typed = $('#q').value.trim();
  if (!typed) {
    state.suggestCtl?.abort();
    closeSuggestions();
    return;
  }
  state.suggestTimer = setTimeout(() => suggest(typed), SUGGEST_DELAY_MS);
}

function onQueryKey(e) {
  const open = !$('#suggestions').hidden;
  switch (e.key) {
    case 'ArrowDown':
      if (open) {
        e.preventDefault();
        setActive(state.active + 1);
      } else if ($('#q').value.trim()) {
        e.preventDefault();
        suggest($('#q').value.trim());
      }
      break;
    case 'ArrowUp':
      if (open) {
        e.preventDefault();
        setActive(state.active < 0 ? -1 : state.active - 1);
      }
      break;
    case 'Enter':
      if (open && state.active >= 0) {
        e.preventDefault();
        choose(suggestions()[state.active].dataset.text);
      }
      break;
    case 'Escape':
      if (open) {
        e.preventDefault();
        closeSuggestions();
      }
      break;
    case 'Tab':
      closeSuggestions();
      break;
    default:
  }
}

// --- search --------------------------------------------------------------------

function searchParams(q) {
  const p = new URLSearchParams({ q, k: '20' });
  const f = state.filters;
  if (f.category) p.set('category', f.category);
  for (const b of f.brands) p.append('brand', b);
  if (f.price) {
    const [lo, hi] = f.price.split('-');
    p.set('min_price', String(parseFloat(lo)));
    // Bands are [lo, hi); max_price is inclusive and prices are in cents.
    if (hi) p.set('max_price', String(parseFloat(hi) - 0.01));
  }
  if (state.user) p.set('user_id', state.user);
  return p;
}

async function search(q, { resetFilters = false } = {}) {
  q = q.trim();
  if (!q) return;
  clearTimeout(state.suggestTimer);
  state.suggestCtl?.abort();
  closeSuggestions();
  if (resetFilters || q !== state.query) {
    state.filters = { category: '', brands: new Set(), price: '' };
    state.facets = null;
  }
  state.query = q;
  state.searchCtl?.abort();
  const ctl = new AbortController();
  state.searchCtl = ctl;
  const results = $('#results');
  results.setAttribute('aria-busy', 'true');
  results.dataset.state = 'loading';
  status(`Searching for “${q}”…`);
  const url = new URL(location.href);
  url.searchParams.set('q', q);
  history.replaceState(null, '', url);
  let data;
  try {
    data = await api(`/v1/search?${searchParams(q)}`, { signal: ctl.signal });
  } catch (err) {
    results.removeAttribute('aria-busy');
    if (!isAbort(err)) {
      results.dataset.state = 'error';
      fail(err, 'Search');
    }
    return;
  }
  if (ctl.signal.aborted) return;
  const filtered = state.filters.category || state.filters.brands.size || state.filters.price;
  if (!filtered || !state.facets) state.facets = data.facets;
  $('#results-h').textContent = `Results for “${q}”`;
  $('#query-photo').hidden = true;
  $('#query-voice').hidden = true;
  renderGrid(results, data.results);
  $('#results-empty').hidden = data.results.length > 0;
  $('#results-empty').textContent = 'Nothing matches; try fewer filters or other words.';
  renderFacets();
  results.removeAttribute('aria-busy');
  results.dataset.state = 'ready';
  results.dataset.kind = 'text';
  results.dataset.version = String(++state.resultsVersion);
  status(`${data.results.length} result${data.results.length === 1 ? '' : 's'} for “${q}”.`);
}

function facetGroup(legend, name, type, entries, selected, all) {
  const fs = el('fieldset', {}, el('legend', {}, legend));
  if (all) {
    fs.append(el('label', { class: 'facet-option' },
      el('input', { type, name, value: '', checked: !selected }), all));
  }
  for (const [value, label, count] of entries) {
    const checked = type === 'checkbox' ? selected.has(value) : selected === value;
    fs.append(el('label', { class: 'facet-option' },
      el('input', { type, name, value, checked }),
      label,
      count !== undefined ? el('span', { class: 'count' }, String(count), el('span', { class: 'visually-hidden' }, ' products')) : null));
  }
  return fs;
}

function renderFacets() {
  const form = clear($('#facets'));
  const f = state.facets;
  if (!f) {
    $('#filters-panel').hidden = true;
    return;
  }
  const byCount = (o) => Object.entries(o || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const cats = byCount(f.category).map(([k, n]) => [k, k, n]);
  if (state.filters.category && !f.category?.[state.filters.category]) cats.push([state.filters.category, state.filters.category]);
  form.append(facetGroup('Category', 'category', 'radio', cats, state.filters.category, 'All categories'));
  const brands = byCount(f.brand).map(([k, n]) => [k, k, n]);
  if (brands.length) form.append(facetGroup('Brand', 'brand', 'checkbox', brands, state.filters.brands));
  const prices = PRICE_BANDS.filter((b) => f.price?.[b]).map((b) => [b, b === '100+' ? '100 and up' : b.replace('-', '–'), f.price[b]]);
  if (prices.length) form.append(facetGroup('Price', 'price', 'radio', prices, state.filters.price, 'Any price'));
  $('#filters-panel').hidden = false;
}

function onFacetChange(e) {
  const t = e.target;
  if (t.name === 'category') state.filters.category = t.value;
  if (t.name === 'price') state.filters.price = t.value;
  if (t.name === 'brand') {
    if (t.checked) state.filters.brands.add(t.value);
    else state.filters.brands.delete(t.value);
  }
  search(state.query);
}

// uploadSearch posts one file as multipart field `field` to a search
// endpoint, cancelling the search before it, with the results grid marked
// busy meanwhile. It returns the answer, or null when the request failed
// (reported as `what`) or another search replaced it.
async function uploadSearch(path, field, blob, name, saying, what) {
  state.searchCtl?.abort();
  const ctl = new AbortController();
  state.searchCtl = ctl;
  const results = $('#results');
  results.dataset.state = 'loading';
  results.setAttribute('aria-busy', 'true');
  status(saying);
  const form = new FormData();
  form.append(field, blob, name);
  form.append('k', '12');
  let data;
  try {
    data = await api(path, { method: 'POST', form, signal: ctl.signal });
  } catch (err) {
    results.removeAttribute('aria-busy');
    if (!isAbort(err)) {
      results.dataset.state = 'error';
      fail(err, what);
    }
    return null;
  }
  return ctl.signal.aborted ? null : data;
}

// --- search by photo -----------------------------------------------------------------

async function searchPhoto(file) {
  if (!file) return;
  if (file.type && !file.type.startsWith('image/')) {
    status(`${file.name} is not an image.`, true);
    return;
  }
  const data = await uploadSearch('/v1/search/image', 'image', file, file.name || 'photo',
    `Looking for products like ${file.name}…`, 'Photo search');
  if (!data) return;
  const results = $('#results');
  state.query = '';
  state.facets = null;
  renderFacets();
  $('#results-h').textContent = 'Products that look like your photo';
  $('#query-voice').hidden = true;
  const preview = clear($('#query-photo'));
  const u = URL.createObjectURL(file);
  const img = el('img', { alt: `Your photo: ${file.name}`, src: u });
  img.addEventListener('load', () => URL.revokeObjectURL(u), { once: true });
  preview.append(img, el('span', { class: 'hint' }, file.name));
  preview.hidden = false;
  renderGrid(results, data.results, { ranked: true });
  $('#results-empty').hidden = data.results.length > 0;
  results.removeAttribute('aria-busy');
  results.dataset.state = 'ready';
  results.dataset.kind = 'photo';
  results.dataset.version = String(++state.resultsVersion);
  status(`${data.results.length} products look like ${file.name}.`);
  $('#results-section').focus();
}

function setupDrop() {
  const zone = $('#dropzone');
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
  // The whole page takes a dropped photo: a file dropped just beside the
  // zone would otherwise make the browser navigate away to it.
  document.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    depth++;
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) document.body.classList.remove('dragging');
  });
  document.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    document.body.classList.remove('dragging');
    searchPhoto(e.dataTransfer.files[0]);
  });
  zone.addEventListener('dragover', () => zone.classList.add('over'));
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', () => zone.classList.remove('over'));
  $('#photo').addEventListener('change', (e) => {
    searchPhoto(e.target.files[0]);
    e.target.value = ''; // the same photo again is a new search
  });
}

// --- search by voice ------------------------------------------------------------------

// toggleVoice starts recording on the first press and, on the second (or
// after voice.js's MAX_SECONDS), uploads the WAV and shows the transcript
// and its results.
async function toggleVoice() {
  const mic = $('#mic');
  if (state.recorder) {
    state.recorder.stop();
    return;
  }
  const rec = new Recorder();
  let wav;
  try {
    const done = rec.start();
    state.recorder = rec;
    mic.setAttribute('aria-pressed', 'true');
    mic.classList.add('recording');
    status('Listening… press the microphone again when you are done.');
    wav = await done;
  } catch (err) {
    status(`The microphone is not available: ${err.message}`, true);
    return;
  } finally {
    state.recorder = null;
    mic.setAttribute('aria-pressed', 'false');
    mic.classList.remove('recording');
  }
  if (wav) await searchVoice(wav);
}

async function searchVoice(wav) {
  const data = await uploadSearch('/v1/search/voice', 'audio', wav, 'query.wav',
    'Listening to what you said…', 'Voice search');
  if (!data) return;
  const results = $('#results');
  state.query = data.query || data.transcript;
  $('#q').value = state.query;
  $('#query-photo').hidden = true;
  $('#query-voice').hidden = true;
  const heard = $('#query-voice');
  heard.textContent = data.transcript
    ? `Heard “${data.transcript}” (confidence ${formatNumber(data.confidence, 2)})`
    : 'Nothing was heard.';
  heard.hidden = false;
  $('#results-h').textContent = 'Products for what you said';
  renderGrid(results, data.results, { ranked: true });
  $('#results-empty').hidden = data.results.length > 0;
  results.removeAttribute('aria-busy');
  results.dataset.state = 'ready';
  results.dataset.kind = 'voice';
  results.dataset.version = String(++state.resultsVersion);
  status(`${data.results.length} products for “${data.transcript}”.`);
  $('#results-section').focus();
}

function setupVoice() {
  if (!Recorder.supported()) return; // no microphone API: no button
  $('#mic').hidden = false;
  $('#mic').addEventListener('click', () => toggleVoice());
}

// --- shoppers, events and recommendations --------------------------------------------------

async function seed(user) {
  const demo = DEMO_USERS[user];
  const flag = `vitrine.seeded.${user}`;
  if (!demo || sessionStorage.getItem(flag)) return;
  sessionStorage.setItem(flag, '1'); // once per tab, even if the key cannot write
  const now = Date.now();
  const events = demo.events.map(([product, type], i) => ({
    client_event_id: `demo-seed-${user}-${i}`,
    user_id: user,
    product_id: product,
    type,
    timestamp: new Date(now - (demo.events.length - i) * 3600e3).toISOString(),
  }));
  await api('/v1/events', { method: 'POST', json: { events } });
}

async function loadRecs({ highlight = false } = {}) {
  const user = state.user;
  const list = $('#recs');
  const seq = ++state.recsSeq;
  $('#recs-h').textContent = user ? `Recommended for ${user}` : 'Recommended for you';
  if (!user) {
    clear(list);
    $('#recs-empty').hidden = false;
    $('#recs-note').textContent = '';
    state.recIds = [];
    state.recsUser = '';
    list.dataset.state = 'ready';
    list.dataset.user = '';
    list.dataset.version = String(++state.recsVersion);
    return;
  }
  $('#recs-empty').hidden = true;
  list.dataset.state = 'loading';
  list.setAttribute('aria-busy', 'true');
  const path = `/v1/users/${encodeURIComponent(user)}/recommendations?k=10`;
  let data;
  try {
    data = await api(path);
    if (data.strategy === 'popular' && DEMO_USERS[user] && !sessionStorage.getItem(`vitrine.seeded.${user}`)) {
      await seed(user);
      data = await api(path);
    }
  } catch (err) {
    if (seq === state.recsSeq) {
      list.removeAttribute('aria-busy');
      list.dataset.state = 'error';
    }
    fail(err, 'Recommendations');
    return;
  }
  if (seq !== state.recsSeq) return; // a newer load (another shopper) wins
  const prev = state.recsUser === user ? new Set(state.recIds) : null;
  const ids = data.results.map((h) => h.id);
  const fresh = highlight && prev ? ids.filter((id) => !prev.has(id)) : [];
  renderGrid(list, data.results, {
    ranked: true,
    each: (h) => ({ why: (hit) => explain(hit, data.strategy, user), isNew: fresh.includes(h.id) }),
  });
  const moved = highlight && prev && ids.join() !== state.recIds.join();
  state.recIds = ids;
  state.recsUser = user;
  const taste = DEMO_USERS[user]?.taste;
  let note = data.strategy === 'popular'
    ? `${user} has no history yet: popular products.`
    : `From ${user}'s history${taste ? ` (${taste})` : ''} and every click on this page.`;
  if (moved) note = `Updated after your last click: ${fresh.length} new, order changed.`;
  $('#recs-note').textContent = note;
  if (data.results.length === 0) $('#recs-empty').hidden = false;
  list.removeAttribute('aria-busy');
  list.dataset.state = 'ready';
  list.dataset.user = user;
  list.dataset.strategy = data.strategy;
  list.dataset.version = String(++state.recsVersion);
}

async function record(productId, types) {
  const user = state.user;
  if (!user) return;
  const timestamp = new Date().toISOString();
  const events = types.map((type) => ({ client_event_id: uuid(), user_id: user, product_id: productId, type, timestamp }));
  try {
    await api('/v1/events', { method: 'POST', json: { events } });
  } catch (err) {
    fail(err, 'Recording your click');
    return;
  }
  await loadRecs({ highlight: true });
}

function selectUser(user) {
  state.user = user;
  localStorage.setItem(USER_STORAGE, user || 'guest');
  loadRecs();
}

// --- dialogs ------------------------------------------------------------------------------

async function openProduct(id) {
  const dialog = $('#product-dialog');
  const detail = clear($('#pd-detail'));
  const similar = clear($('#pd-similar'));
  state.dialogProduct = id;
  $('#pd-title').textContent = 'Loading…';
  dialog.dataset.state = 'loading';
  if (!dialog.open) dialog.showModal();
  dialog.querySelector('.dialog-body').scrollTop = 0;
  // A click on a card is both a click and a view of the product.
  const recorded = record(id, ['click', 'view']);
  let p;
  let sim;
  try {
    [p, sim] = await Promise.all([
      api(`/v1/products/${encodeURIComponent(id)}`),
      api(`/v1/products/${encodeURIComponent(id)}/similar?k=8`),
    ]);
  } catch (err) {
    $('#pd-title').textContent = 'Product unavailable';
    detail.append(el('p', { class: 'status error' }, err.message));
    dialog.dataset.state = 'error';
    return;
  }
  if (state.dialogProduct !== id) return;
  $('#pd-title').textContent = p.title;
  const attrs = Object.entries(p.attributes || {});
  detail.append(
    photo(p, 'large'),
    el('div', {},
      el('p', { class: 'price' }, formatPrice(p.price, p.currency)),
      p.description ? el('p', {}, p.description) : null,
      el('dl', {},
        p.category ? [el('dt', {}, 'Category'), el('dd', {}, categoryText(p))] : null,
        p.brand ? [el('dt', {}, 'Brand'), el('dd', {}, p.brand)] : null,
        attrs.map(([k, v]) => [el('dt', {}, k.replaceAll('_', ' ')), el('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v))]),
        el('dt', {}, 'Product id'), el('dd', {}, el('code', {}, p.id)))),
  );
  renderGrid(similar, sim.results);
  dialog.dataset.state = 'ready';
  await recorded;
}

function explain(hit, strategy, user) {
  const dialog = $('#why-dialog');
  const body = clear($('#why-body'));
  const p = hit.product || { title: hit.id };
  $('#why-title').textContent = `Why “${p.title}”?`;
  const parts = hit.explain || [];
  const top = Math.max(...parts.map((x) => Math.abs(x.score)), 1e-9);
  body.append(el('p', {}, 'Score ', el('strong', {}, formatNumber(hit.score)),
    strategy === 'popular'
      ? ` — ${user} has no history yet, so this is one of the most popular products of the last 90 days.`
      : ` — how close this product is to ${user}'s taste, made of:`));
  if (parts.length) {
    body.append(el('ul', { class: 'parts', 'aria-label': 'Score parts' }, parts.map((x) => el('li', {},
      el('span', {}, x.name),
      el('span', { class: 'bar', role: 'img', 'aria-label': `${x.name}: ${formatNumber(x.score)}` },
        barFill(Math.max(0, x.score) / top)),
      el('span', { class: 'num' }, formatNumber(x.score))))));
  }
  if (hit.because?.length) {
    body.append(el('h3', {}, 'Because you…'), el('ul', { class: 'because' }, hit.because.map((b) => el('li', {},
      'showed interest in ', el('strong', {}, b.title),
      ` (${Math.round(b.similarity * 100)}% similar)`))));
  }
  dialog.showModal();
}

// barFill sets its width through the CSSOM: the page's CSP refuses style
// attributes, but not styles set from script.
function barFill(fraction) {
  const fill = el('span');
  fill.style.width = `${Math.round(fraction * 100)}%`;
  return fill;
}

function setupDialogs() {
  for (const id of ['product-dialog', 'why-dialog']) {
    const d = document.getElementById(id);
    // A click on the backdrop lands on the dialog element itself.
    d.addEventListener('click', (e) => {
      if (e.target === d) d.close();
    });
  }
  $('#pd-close').addEventListener('click', () => $('#product-dialog').close());
  $('#why-close').addEventListener('click', () => $('#why-dialog').close());
  $('#product-dialog').addEventListener('close', (e) => {
    // The close event is queued: a quick click may already have opened
    // the next product, which must not be forgotten.
    if (!e.target.open) state.dialogProduct = '';
  });
}

// --- API key (only when the server wants one) --------------------------------------------------

async function setupKey() {
  const cfg = await uiConfig();
  const panel = $('#key-panel');
  panel.hidden = !cfg.auth || Boolean(apiKey());
  $('#api-key').value = apiKey();
  $('#key-panel').addEventListener('submit', (e) => {
    e.preventDefault();
    setApiKey($('#api-key').value.trim());
    panel.hidden = true;
    status('API key set for this tab.');
    loadRecs();
    if (state.query) search(state.query);
  });
  $('#key-forget').addEventListener('click', () => {
    setApiKey('');
    $('#api-key').value = '';
    status('API key forgotten.');
  });
}

// --- start ----------------------------------------------------------------------------------

async function main() {
  const q = $('#q');
  q.addEventListener('input', onQueryInput);
  q.addEventListener('keydown', onQueryKey);
  q.addEventListener('blur', () => setTimeout(closeSuggestions, 100));
  $('#search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    search(q.value);
  });
  $('#facets').addEventListener('change', onFacetChange);
  $('#facets').addEventListener('submit', (e) => e.preventDefault());
  $('#user').addEventListener('change', (e) => selectUser(e.target.value));
  setupDrop();
  setupVoice();
  setupDialogs();
  await setupKey();

  const saved = localStorage.getItem(USER_STORAGE);
  const user = saved === null ? 'alice' : saved === 'guest' ? '' : saved;
  $('#user').value = user;
  if ($('#user').value !== user) $('#user').value = '';
  selectUser($('#user').value);
  const initial = new URL(location.href).searchParams.get('q');
  if (initial) {
    q.value = initial;
    search(initial);
  }
}

main().catch((err) => fail(err, 'Starting the page'));
