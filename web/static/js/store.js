// The family's state as the hub last told it, kept fresh by the hub's
// event stream. Views read `state` and re-render on `change`.

import { api, cloudStream, freshness, isCloud, Unreachable } from './api.js';
import { clock } from './ids.js';
import * as outbox from './outbox.js';

export const state = {
  /** @type {'loading'|'ready'|'setup'|'pair'|'unreachable'} */
  phase: 'loading',
  family: null,
  members: [],
  trips: [],
  today: null,
  sync: null,
  /** trip id → stored plans */
  plans: new Map(),
  /** member id → that member's log as the hub folded it (newest first) */
  logs: new Map(),
  /** whether the hub answered the last request */
  reachable: true,
  /** when the data shown was saved, if it came from the offline copy */
  saved: null,
  loadedAt: 0,
};

const listeners = new Set();

/** Calls fn after every change to state. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function emit() {
  for (const fn of listeners) fn();
}

function note(err) {
  if (err instanceof Unreachable) {
    state.reachable = false;
    return true;
  }
  return false;
}

/** Loads the family, trips, today and sync state. */
export async function load() {
  try {
    const fam = await api('/api/v1/family');
    state.saved = freshness.saved;
    state.reachable = !state.saved;
    if (fam.setup_required) {
      state.phase = 'setup';
      state.family = null;
      state.members = [];
      emit();
      return;
    }
    state.family = fam.family;
    state.members = fam.members;
    clock.observe(fam.family?.hlc);
    for (const m of fam.members) clock.observe(m.hlc);
    const [trips, today, sync] = await Promise.all([
      api('/api/v1/trips'),
      api('/api/v1/today'),
      api('/api/v1/sync'),
    ]);
    state.trips = trips.trips;
    for (const t of trips.trips) clock.observe(t.hlc);
    state.today = today;
    state.sync = sync;
    state.phase = 'ready';
    state.loadedAt = Date.now();
    state.saved = state.saved || freshness.saved;
    await Promise.all([...state.plans.keys()].map((id) => loadPlans(id).catch(() => {})));
  } catch (err) {
    if (err?.status === 401) state.phase = 'pair';
    else if (!note(err)) throw err;
    else if (state.phase === 'loading') state.phase = 'unreachable';
  }
  emit();
}

/** Loads (or reloads) a trip's plans. */
export async function loadPlans(tripId) {
  try {
    const out = await api(`/api/v1/trips/${tripId}/plan`);
    state.plans.set(tripId, out.plans);
  } catch (err) {
    if (!note(err)) throw err;
  }
  return state.plans.get(tripId) || null;
}

/** Loads every event of a member (for the log and its undo). */
/**
 * Loads a member's log as the hub folded it: the entries that count from
 * the last few days, newest first, each correction with what it replaced.
 */
export async function loadLog(memberId) {
  try {
    const page = await api(`/api/v1/members/${memberId}/log?days=4`);
    state.logs.set(memberId, page.facts);
  } catch (err) {
    if (!note(err)) throw err;
  }
  return state.logs.get(memberId) || [];
}

let source = null;
let pending = 0;
let cloudLive = false;

/** Reloads the state once for a burst of notices. */
function refresh() {
  clearTimeout(pending);
  pending = setTimeout(async () => {
    await load().catch(() => {});
    for (const id of state.logs.keys()) await loadLog(id).catch(() => {});
    emit();
  }, 150);
}

/**
 * The cloud's live stream, read with the session's token: the same
 * notices as the hub's, so the same reloads. It reconnects when the
 * stream ends (its token expired), and waits for a sign-in when the cloud
 * refuses it.
 */
async function liveCloud() {
  if (cloudLive) return;
  cloudLive = true;
  for (;;) {
    let wait = 1000;
    try {
      await cloudStream((kind) => {
        if (kind === 'hello') {
          state.reachable = true;
          outbox.retryNow();
          refresh();
        } else if (kind === 'plan' || kind === 'plans_removed' || kind === 'events') refresh();
      });
    } catch (err) {
      if (err?.status === 401 || err?.status === 403) {
        cloudLive = false; // a sign-in starts it again
        return;
      }
      state.reachable = false;
      emit();
      wait = 3000;
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}

/**
 * Listens to the hub's event stream: a notice reloads the state (once for
 * a burst of notices); a new connection sends what waits in the outbox.
 */
export function live() {
  if (isCloud()) return void liveCloud();
  if (source || typeof EventSource === 'undefined') return;
  source = new EventSource('/api/v1/stream');
  source.addEventListener('hello', () => {
    state.reachable = true;
    outbox.retryNow();
    refresh();
  });
  for (const kind of ['plan', 'plans_removed', 'clock', 'events']) source.addEventListener(kind, refresh);
  source.onerror = () => {
    state.reachable = false;
    emit();
    if (source.readyState === EventSource.CLOSED) {
      // The hub refused the stream (a restart, or pairing): try again.
      source = null;
      setTimeout(live, 3000);
    }
  };
}
