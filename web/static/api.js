// Shared by the storefront and the admin page: REST calls with the optional
// API key, and small DOM helpers. The pages build every element with these
// helpers and textContent, never innerHTML, so catalog text cannot inject
// markup.

const KEY_STORAGE = 'vitrine.apiKey';

export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || '';
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

// APIError carries the problem+json body the API answers errors with.
export class APIError extends Error {
  constructor(status, problem) {
    const detail = problem && typeof problem === 'object'
      ? [problem.title, problem.detail].filter(Boolean).join(': ')
      : String(problem || '');
    super(detail || `HTTP ${status}`);
    this.name = 'APIError';
    this.status = status;
    this.problem = problem;
  }
}

// api calls the REST API. json is sent as a JSON body; form as multipart.
export async function api(path, { method = 'GET', json, form, signal } = {}) {
  const headers = { Accept: 'application/json' };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // the browser sets the multipart boundary
  }
  const res = await fetch(path, { method, headers, body, signal });
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}

// isAbort tells a superseded request (the user typed on) from a failure.
export function isAbort(err) {
  return err && err.name === 'AbortError';
}

// uiConfig says whether the server wants API keys.
export async function uiConfig() {
  const res = await fetch('/ui/config.json');
  if (!res.ok) return { auth: false };
  return res.json();
}

// setImage shows a protected image. Without a key the browser loads it
// directly; with one, <img> cannot send the header, so the image is fetched
// and shown from a blob URL.
export function setImage(img, url) {
  const key = apiKey();
  if (!key) {
    img.src = url;
    return;
  }
  fetch(url, { headers: { Authorization: `Bearer ${key}` } })
    .then((res) => (res.ok ? res.blob() : Promise.reject(new APIError(res.status, null))))
    .then((blob) => {
      const u = URL.createObjectURL(blob);
      img.addEventListener('load', () => URL.revokeObjectURL(u), { once: true });
      img.src = u;
    })
    .catch(() => img.dispatchEvent(new Event('error')));
}

// el builds an element: attributes (on* keys become listeners, "class",
// "dataset" and boolean values are handled) and children (strings become
// text nodes; null and false are skipped).
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      node.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      node.className = v;
    } else if (k === 'dataset') {
      Object.assign(node.dataset, v);
    } else if (v === true) {
      node.setAttribute(k, '');
    } else {
      node.setAttribute(k, String(v));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function formatPrice(price, currency) {
  if (typeof price !== 'number') return '';
  if (currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(price);
    } catch {
      // not an ISO 4217 code: show it as given
    }
  }
  return `${price.toFixed(2)}${currency ? ` ${currency}` : ''}`;
}

export function formatNumber(n, digits = 3) {
  return typeof n === 'number' ? n.toFixed(digits) : '';
}
