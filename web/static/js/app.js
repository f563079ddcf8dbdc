// Zoner in the browser: the router, the header's sync badge, the notice
// that the screen shows a saved copy, the live connection to the hub and
// the service worker that keeps the app shell.

import { isCloud } from './api.js';
import { h, fill } from './dom.js';
import * as outbox from './outbox.js';
import * as reminders from './reminders.js';
import { live, load, onChange, state } from './store.js';
import { clock, dayName, deviceZone, toMs, wall, zoneLabel } from './time.js';
import { familyView, memberEditView } from './views/family.js';
import { importView } from './views/import.js';
import { logView } from './views/log.js';
import { pairView } from './views/pair.js';
import { signinView } from './views/signin.js';
import { setupView } from './views/setup.js';
import { syncView } from './views/sync.js';
import { timelineView } from './views/timeline.js';
import { todayView } from './views/today.js';
import { tripEditView, tripsView } from './views/trip.js';

const main = document.getElementById('main');
const badge = document.getElementById('sync-badge');
const notice = document.getElementById('offline-notice');
const title = document.getElementById('family-name');

/**
 * Routes: [pattern, view, live]. A live view re-renders when the hub's
 * state changes; a form does not, so nothing typed is lost.
 */
const routes = [
  [/^#\/setup$/, setupView, false],
  [/^#\/pair$/, pairView, false],
  [/^#\/signin/, signinView, false],
  [/^#\/trips$/, tripsView, true],
  [/^#\/trips\/new$/, (el) => tripEditView(el, 'new'), false],
  [/^#\/trips\/([0-9a-f-]{36})\/edit$/, tripEditView, false],
  [/^#\/trips\/([0-9a-f-]{36})(?:\/people\/([0-9a-f-]{36}))?$/, timelineView, true],
  [/^#\/log(?:\/([0-9a-f-]{36}))?$/, logView, true],
  [/^#\/family$/, familyView, true],
  [/^#\/family\/(new|[0-9a-f-]{36})$/, memberEditView, false],
  [/^#\/members\/([0-9a-f-]{36})\/import$/, importView, false],
  [/^#\/sync$/, syncView, true],
  [/^#\/(today)?$/, todayView, true],
];

let current = null;

async function render() {
  const hash = location.hash || '#/today';
  if (state.phase === 'setup' && hash !== '#/setup') return void (location.hash = '#/setup');
  if (state.phase === 'pair' && hash !== '#/pair') return void (location.hash = '#/pair');
  if (state.phase === 'ready' && (hash === '#/setup' || hash === '#/pair')) return void (location.hash = '#/today');
  let match = null;
  for (const [re, view, isLive] of routes) {
    const m = re.exec(hash);
    if (m) {
      match = { view, isLive, args: m.slice(1) };
      break;
    }
  }
  if (!match) return void (location.hash = '#/today');
  current = match;
  shownPhase = state.phase;
  for (const a of document.querySelectorAll('nav.tabs a')) {
    if (hash.startsWith(a.getAttribute('href'))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (state.phase === 'loading' || state.phase === 'unreachable') renders++; // drop any view still drawing
  if (state.phase === 'loading') return void fill(main, h('p', { class: 'muted', role: 'status' }, 'Connecting to the hub…'));
  if (state.phase === 'unreachable') {
    return void fill(main, h('div', { class: 'card stack', role: 'alert' },
      h('h1', {}, 'The hub cannot be reached'),
      h('p', {}, 'Check that the hub is on and that this phone is on the same network. Zoner keeps trying.')));
  }
  // A view draws off screen (it may wait for the hub); what it drew goes
  // in only if no later render started meanwhile and, for a refresh,
  // nobody started typing.
  const mine = ++renders;
  const page = document.createElement('div');
  try {
    await match.view(page, ...match.args);
  } catch (err) {
    fill(page, h('div', { class: 'card', role: 'alert' }, h('h1', {}, 'Something went wrong'), h('p', {}, err.message || String(err))));
  }
  if (mine !== renders) return;
  if (refreshing && busy()) {
    stale = true;
    return;
  }
  main.replaceChildren(...page.childNodes);
  main.querySelector('[autofocus]')?.focus();
}
let renders = 0;
let refreshing = false;
/** The phase the screen was drawn for: a change of phase always redraws. */
let shownPhase = '';

async function header() {
  title.textContent = state.family?.name || 'Zoner';
  offlineNotice();
  let waiting = 0;
  let refused = 0;
  try {
    for (const e of await outbox.list()) e.refused ? refused++ : waiting++;
  } catch {
    // Storage unavailable: the badge shows the link only.
  }
  const offline = !state.reachable || !outbox.status.reachable;
  // Nothing to say before there is anything: "Up to date" only once the
  // family exists and nothing waits.
  let text = state.phase === 'ready' && state.family ? 'Up to date' : '';
  let cls = 'ok';
  const parts = [];
  if (refused) parts.push(`${refused} refused`);
  if (waiting) parts.push(`${waiting} waiting`);
  if (offline) parts.push(waiting ? 'hub unreachable' : 'Hub unreachable');
  if (state.phase === 'pair') [text, cls] = [isCloud() ? 'Not signed in' : 'Not paired', 'warn'];
  else if (parts.length) [text, cls] = [parts.join(' · '), refused ? 'bad' : 'warn'];
  badge.textContent = text;
  badge.className = `badge ${cls}`;
  badge.hidden = !text;
}

/**
 * Says so when the screen shows a saved copy: the service worker's (the
 * answers carried X-Zoner-Saved) or what this page last heard, with the
 * hub out of reach. It goes when the hub answers again.
 */
function offlineNotice() {
  const from = state.saved ? toMs(state.saved) : !state.reachable && state.loadedAt ? state.loadedAt : 0;
  if (state.phase !== 'ready' || !from) {
    notice.hidden = true;
    notice.replaceChildren();
    return;
  }
  const tz = deviceZone();
  const day = wall(from, tz).date === wall(Date.now(), tz).date ? '' : `${dayName(from, tz)} `;
  notice.replaceChildren(h('b', {}, 'Offline'), ` — saved copy from ${day}${clock(from, tz)} ${zoneLabel(tz)}. Times may have changed.`);
  notice.hidden = false;
}

/** Gives every toast a close button: none stays in the way. */
function dismissible(box) {
  new MutationObserver(() => {
    for (const t of box.querySelectorAll('.toast:not([data-closable])')) {
      t.dataset.closable = '';
      t.append(h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', onclick: () => t.remove() }, '×'));
    }
  }).observe(box, { childList: true });
  addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') box.replaceChildren();
  });
}
const toasts = document.getElementById('toasts');
if (toasts) dismissible(toasts);

/**
 * Whether a person is typing into the screen: a live view then waits, so
 * a refresh never wipes a half-filled form. Forms with data-keep hold
 * their place until they are sent or cancelled.
 */
function busy() {
  if (main.querySelector('[data-keep]')) return true;
  const a = document.activeElement;
  return !!(a && main.contains(a) && a.matches('input, select, textarea'));
}

let rerender = 0;
let stale = false;
function refresh() {
  header();
  reminders.schedule();
  if (!current?.isLive && state.phase === shownPhase) return;
  clearTimeout(rerender);
  rerender = setTimeout(() => {
    // A screen rendered since (a hash change) may already show this
    // phase: a form is then left as typed.
    if (!current?.isLive && state.phase === shownPhase) return;
    if (busy()) {
      stale = true;
      return;
    }
    stale = false;
    refreshing = true;
    render().finally(() => { refreshing = false; });
  }, 50);
}
main.addEventListener('focusout', () => setTimeout(() => {
  if (stale && !busy()) {
    stale = false;
    render();
  }
}, 0));
addEventListener('zoner:refresh', () => {
  stale = false;
  render();
});

onChange(refresh);
// What waits on this phone changed. Today asks the hub again first, so
// that an entry the hub took does not vanish from the card meanwhile.
outbox.onChange(() => {
  header();
  if (current?.view === todayView) load().catch(() => {});
  else if (current?.view === syncView || current?.view === logView) refresh();
});
addEventListener('hashchange', render);
addEventListener('zoner:signedin', () => {
  // Signed in to the cloud with a link from the hub: the family loads now.
  load().catch(() => {}).finally(() => {
    render();
    live();
  });
});
addEventListener('zoner:unauthorized', () => {
  if (state.phase === 'pair') return; // the pairing screen says why itself
  state.phase = 'pair';
  render();
});
addEventListener('online', () => outbox.retryNow());
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') {
    outbox.retryNow();
    load().catch(() => {});
  }
});

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch(() => {
    // Without a service worker (plain HTTP on the LAN) the app still works
    // while the page is open; only the offline start is lost.
  });
}

// Keep trying while the hub is away, and keep "now" current.
setInterval(() => {
  if (!state.reachable || state.phase === 'unreachable' || state.phase === 'loading') load().catch(() => {});
  else if (current?.view === todayView) load().catch(() => {});
}, 30000);

await load().catch(() => {});
await render();
header();
live();
outbox.flush();
