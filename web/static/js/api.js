// The hub's HTTP API, or the cloud's: the same UI is served by both, and
// the cloud marks its page with the cookie zoner_backend=cloud. Views keep calling
// the hub's paths; in cloud mode `api` maps them to the cloud's routes of
// the family the access token names, and sends the token as
// "Authorization: Bearer". Failures come out as two kinds of error: the
// server answered and said no (ApiError, with its code and problems), or
// it could not be reached (Unreachable).

import { inWords } from './dom.js';

/**
 * One problem of a refused request in a line, in words: "End: must be
 * after start", with the entry's number in a batch ("Entry 2, end: …").
 * @param {{index?: number, code: string, path?: string, rule: string, text?: string}} p
 */
export function problemText(p) {
  if (p.text) return p.text; // kept in the outbox by an older version
  const where = [p.index === undefined ? '' : `entry ${p.index + 1}`, p.path ? inWords(p.path) : ''].filter(Boolean).join(', ');
  const text = `${where ? `${where}: ` : ''}${inWords(p.rule)}`;
  return text[0].toUpperCase() + text.slice(1);
}

/** The hub answered with an error: {code, message, problems}. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = body && typeof body === 'object' ? body : {};
    super(e.message || `the hub answered ${status}`);
    this.status = status;
    this.code = e.code || 'internal';
    /** @type {{index?: number, code: string, path?: string, rule: string}[]} */
    this.problems = e.problems || [];
  }

  /** The message with every problem, for a person to read. */
  get detail() {
    return [this.message, ...this.problems.map(problemText)].join('\n');
  }
}

/** The hub could not be reached (or answered from the offline copy only). */
export class Unreachable extends Error {}

/** Whether the last answer came from the service worker's saved copy. */
export const freshness = { saved: null };

/**
 * Which server the UI talks to. In cloud mode, family and member are the
 * access token's (member null for a guardian).
 * @type {{mode: 'hub'|'cloud', family: string|null, member: string|null, role: string|null}}
 */
export const backend = { mode: 'hub', family: null, member: null, role: null };

/** Where the access token waits, for this tab only. */
export const TOKEN_KEY = 'zoner_access';

let detected = null;

/**
 * Decides, once, whether the UI talks to a hub or to the cloud: the cloud
 * sets the cookie zoner_backend=cloud with the page (the cookie stays for
 * an offline start); a hub sets none. No request, so a hub's UI starts as
 * it always did.
 */
export function detect() {
  if (!detected) {
    const cloud = document.cookie.split(';').some((c) => c.trim() === 'zoner_backend=cloud');
    backend.mode = cloud ? 'cloud' : 'hub';
    if (cloud) readToken();
    detected = backend.mode;
  }
  return detected;
}

/** Whether the UI is served by the cloud. */
export function isCloud() {
  return detect() === 'cloud';
}

/** The access token of this tab's session, '' for none. */
function accessToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

/**
 * Starts using an access token (the answer of POST /v1/auth/exchange or
 * /refresh), for this tab.
 * @param {string} token
 */
export function useToken(token) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Private mode: the refresh cookie gets a new one on the next call.
  }
  readToken();
}

/** This tab's session as the token says it: {role, member_id, family_id}. */
export function session() {
  detect();
  return { role: backend.role, member_id: backend.member, family_id: backend.family };
}

/** Reads the family, member and role from the access token's claims. */
function readToken() {
  const tok = accessToken();
  backend.family = backend.member = backend.role = null;
  const part = tok.split('.')[1];
  if (!part) return;
  try {
    const c = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/')));
    backend.family = c.fam || null;
    backend.role = c.role || null;
    backend.member = c.role === 'member' ? c.sub : null;
  } catch {
    // Not a token: no session.
  }
}

/**
 * Renews the access token through the session's refresh cookie; false
 * when there is no session (or no such route yet).
 */
async function refreshToken() {
  try {
    const res = await fetch('/v1/auth/refresh', { method: 'POST', credentials: 'same-origin' });
    if (!res.ok) return false;
    const out = await res.json();
    if (!out?.access_token) return false;
    sessionStorage.setItem(TOKEN_KEY, out.access_token);
    readToken();
    return !!backend.family;
  } catch {
    return false;
  }
}

/** A stand-in for the hub's answers the cloud has no route for. */
const cloudLocal = {
  '/api/v1/sync': () => ({ log_seq: 0, applied_seq: 0, cloud: { configured: true, family_id: backend.family, linked: true, pending: 0 } }),
  '/api/v1/pairing': () => ({ lan: false, pair_command: '', lan_command: '' }),
};

/**
 * The cloud's path for a hub path, or null when the cloud has none.
 * @param {string} path
 */
export function cloudPath(path) {
  if (path.startsWith('/v1/')) return path; // already the cloud's
  const [p, q] = path.split('?');
  const f = `/v1/families/${backend.family}`;
  const query = q ? `?${q}` : '';
  let m;
  if (p === '/api/v1/family' || p === '/api/v1/trips') return `${f}/state`;
  if (p === '/api/v1/today') return `${f}/today${query}`;
  if ((m = /^\/api\/v1\/trips\/([0-9a-f-]+)\/plan$/.exec(p))) return `${f}/trips/${m[1]}/plan`;
  if ((m = /^\/api\/v1\/members\/([0-9a-f-]+)\/log$/.exec(p))) return `${f}/members/${m[1]}/log${query}`;
  if (p === '/api/v1/events' || p === '/api/v1/setup') return `${f}/events`;
  return null;
}

/**
 * Calls the API and decodes the JSON answer.
 * @param {string} path the hub's path; mapped to the cloud's in cloud mode
 * @param {{method?: string, body?: any, signal?: AbortSignal}} [opts]
 */
export async function api(path, opts = {}) {
  if (isCloud()) return cloudApi(path, opts);
  return call(path, opts);
}

/** The trade of a sign-in link's code going on, or null. */
let signingIn = null;

/**
 * Tells the adapter a sign-in link's code is being traded for a session:
 * calls wait for it rather than try to renew a session there is not yet.
 * @param {Promise<unknown>} trade
 */
export function signingInWith(trade) {
  const p = Promise.resolve(trade).catch(() => {});
  signingIn = p;
  p.finally(() => {
    if (signingIn === p) signingIn = null;
  });
}

async function cloudApi(path, opts) {
  const local = cloudLocal[path.split('?')[0]];
  if (local && (opts.method || 'GET') === 'GET') return local();
  if (!backend.family && signingIn) await signingIn;
  if (!backend.family && !(await refreshToken())) {
    dispatchEvent(new CustomEvent('zoner:unauthorized'));
    throw new ApiError(401, { code: 'unauthorized', message: 'Sign in with a link from your hub.' });
  }
  const target = cloudPath(path);
  if (!target) throw new ApiError(404, { code: 'not_found', message: `the cloud does not serve ${path}` });
  let out;
  try {
    out = await call(target, opts, accessToken());
  } catch (err) {
    if (err?.status !== 401 || !(await refreshToken())) throw err;
    out = await call(target, opts, accessToken());
  }
  // The cloud answers the family and its trips in one: each hub path
  // gets its part.
  if (path === '/api/v1/trips') return { trips: out.trips };
  return out;
}

/**
 * Reads the family's live stream from the cloud: Server-Sent Events over
 * fetch, which sends the bearer token an EventSource cannot. Calls
 * on(kind) for each event ('hello', 'events', 'plan', …) and resolves when
 * the stream ends (the token expired, the server shut down); throws an
 * ApiError when the cloud refuses it.
 * @param {(kind: string) => void} on
 * @param {AbortSignal} [signal]
 */
export async function cloudStream(on, signal) {
  if (!backend.family && !(await refreshToken())) {
    dispatchEvent(new CustomEvent('zoner:unauthorized'));
    throw new ApiError(401, { code: 'unauthorized', message: 'Sign in with a link from your hub.' });
  }
  const open = () => fetch(`/v1/families/${backend.family}/stream`, {
    headers: { Authorization: `Bearer ${accessToken()}`, Accept: 'text/event-stream' }, credentials: 'same-origin', signal,
  });
  let res;
  try {
    res = await open();
    if (res.status === 401 && (await refreshToken())) res = await open();
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new Unreachable('the cloud cannot be reached');
  }
  if (!res.ok || !res.body) {
    if (res.status === 401) dispatchEvent(new CustomEvent('zoner:unauthorized'));
    throw new ApiError(res.status, await res.json().catch(() => null));
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, end);
      buf = buf.slice(end + 2);
      // A frame of comments only (a ping) names no event.
      const kind = frame.split('\n').find((l) => l.startsWith('event:'))?.slice(6).trim();
      if (kind) on(kind);
    }
  }
}

async function call(path, opts, token) {
  const init = { method: opts.method || 'GET', headers: {}, credentials: 'same-origin', signal: opts.signal };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (opts.body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new Unreachable('the hub cannot be reached');
  }
  if (init.method === 'GET') freshness.saved = res.headers.get('X-Zoner-Saved');
  let body = null;
  const text = await res.text();
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, body);
    if (res.status === 401) dispatchEvent(new CustomEvent('zoner:unauthorized'));
    throw err;
  }
  return body;
}

/**
 * Sends a file as the raw body of a POST to the hub, reporting how much
 * of it has gone (0..1) to onprogress, and decodes the JSON answer.
 * Failures are ApiError and Unreachable, as for api(). The cloud takes no
 * uploads: in cloud mode it answers an ApiError at once.
 * @param {string} path
 * @param {Blob} file
 * @param {string} type the body's Content-Type
 * @param {(done: number) => void} [onprogress]
 * @returns {Promise<any>}
 */
export function upload(path, file, type, onprogress) {
  if (isCloud()) {
    return Promise.reject(new ApiError(404, { code: 'not_found', message: 'this works only on the family’s hub, at home: open Zoner from the hub to do it' }));
  }
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', type || 'application/octet-stream');
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable && onprogress) onprogress(ev.loaded / ev.total);
    };
    xhr.onerror = () => reject(new Unreachable('the hub cannot be reached'));
    xhr.ontimeout = xhr.onerror;
    xhr.onload = () => {
      let body = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body);
      if (xhr.status === 401) dispatchEvent(new CustomEvent('zoner:unauthorized'));
      reject(new ApiError(xhr.status, body));
    };
    xhr.send(file);
  });
}
