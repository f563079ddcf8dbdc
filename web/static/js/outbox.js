// The outbox: every write waits here, in IndexedDB, until the hub has
// answered it. An event keeps its id for every retry, and the hub answers
// a retry as it answered the first time without storing anything again,
// so however often a write is sent it counts once. Nothing is dropped
// without a person deciding to: a write the hub refuses stays, with the
// hub's reasons, until it is discarded on the Sync screen.

import { api, ApiError, Unreachable } from './api.js';

const DB = 'zoner';
const STORE = 'outbox';

/** @type {Promise<IDBDatabase>|null} */
let opening = null;

function db() {
  opening ||= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'seq', autoIncrement: true });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return opening;
}

async function tx(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(STORE, mode);
    const out = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(out?.result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

/**
 * @typedef {object} Entry
 * @property {number} [seq] order of arrival
 * @property {string} path the API path, /api/v1/events or /api/v1/setup
 * @property {object[]} events the events, sent as one batch (all or none)
 * @property {string} label what it is, for people: "Kemi: nap started"
 * @property {number} added when it was logged (ms)
 * @property {number} attempts sends tried
 * @property {string} [error] why the last send failed
 * @property {{code: string, message: string, problems: object[]}} [refused] the hub's no
 */

const listeners = new Set();

/** Calls fn whenever the outbox changes. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function changed() {
  for (const fn of listeners) fn();
}

/** Every entry, oldest first. */
export async function list() {
  return (await tx('readonly', (s) => s.getAll())) || [];
}

/** Puts events in the outbox and starts sending; answers the entry's seq. */
export async function add(path, events, label) {
  /** @type {Entry} */
  const e = { path, events, label, added: Date.now(), attempts: 0 };
  const seq = await tx('readwrite', (s) => s.add(e));
  changed();
  flush();
  return seq;
}

/**
 * Waits for the first send of an entry: answers 'sent', 'waiting' (the
 * hub is out of reach; it stays and is sent later) or the entry itself
 * when the hub refused it, with the hub's reasons in `refused`.
 * @returns {Promise<'sent'|'waiting'|Entry>}
 */
export async function outcome(seq) {
  for (let i = 0; i < 3; i++) {
    await flush();
    const e = (await list()).find((x) => x.seq === seq);
    if (!e) return 'sent';
    if (e.refused) return e;
    if (e.attempts) return 'waiting';
  }
  return 'waiting';
}

/**
 * Takes back an entry that has not been sent yet. Answers false when it
 * is gone (sent in the meantime).
 */
export async function take(seq) {
  const d = await db();
  const ok = await new Promise((resolve, reject) => {
    const t = d.transaction(STORE, 'readwrite');
    const s = t.objectStore(STORE);
    let found = false;
    const g = s.get(seq);
    g.onsuccess = () => {
      if (g.result && !sending.has(seq)) {
        found = true;
        s.delete(seq);
      }
    };
    t.oncomplete = () => resolve(found);
    t.onerror = () => reject(t.error);
  });
  changed();
  return ok;
}

/** Drops an entry the hub refused, on a person's say-so. */
export async function discard(seq) {
  await tx('readwrite', (s) => s.delete(seq));
  changed();
}

const sending = new Set();
let running = null;
let timer = 0;
let backoff = 0;

/** The outbox's link state, for the sync badge. */
export const status = { reachable: true, lastError: '', nextTry: 0 };

/**
 * Sends what waits, oldest first. A call while a flush runs joins it.
 * @returns {Promise<void>}
 */
export function flush() {
  running ||= run().finally(() => {
    running = null;
  });
  return running;
}

async function run() {
  clearTimeout(timer);
  let last = 0;
  for (;;) {
    let e;
    try {
      e = (await list()).find((x) => !x.refused && x.seq > last);
    } catch (err) {
      status.lastError = `the browser's storage failed: ${err?.message || err}`;
      changed();
      return;
    }
    if (!e) return;
    last = e.seq;
    sending.add(e.seq);
    try {
      const single = e.events.length === 1 && e.path !== '/api/v1/setup';
      await api(e.path, { method: 'POST', body: single ? e.events[0] : e.events });
      await tx('readwrite', (st) => st.delete(e.seq));
      status.reachable = true;
      status.lastError = '';
      backoff = 0;
    } catch (err) {
      e.attempts++;
      e.error = err.message;
      const retry = err instanceof Unreachable || (err instanceof ApiError && RETRY.includes(err.status));
      if (!retry && err instanceof ApiError) {
        e.refused = { code: err.code, message: err.message, problems: err.problems };
      }
      await tx('readwrite', (st) => st.put(e)).catch(() => {});
      if (retry) {
        // Later entries wait too: they may build on this one.
        status.reachable = !(err instanceof Unreachable);
        status.lastError = err.message;
        backoff = Math.min(backoff ? backoff * 2 : 1000, 15000);
        status.nextTry = Date.now() + backoff;
        timer = setTimeout(flush, backoff);
        return;
      }
    } finally {
      sending.delete(e.seq);
      changed();
    }
  }
}

// Answers worth trying again: the hub is starting, busy, or wants the
// pairing token first.
const RETRY = [401, 408, 429, 500, 502, 503, 504];

/** Tries again at once (the hub is back, the page is visible again). */
export function retryNow() {
  backoff = 0;
  flush();
}
