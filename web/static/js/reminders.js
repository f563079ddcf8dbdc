// Reminders: with the person's permission, a notification shortly before
// the next nap, bedtime, light window, feed or melatonin dose. They fire
// while the page is open (a hub on the LAN has no push service); the
// calendar feed's alarms cover the rest.

import { state } from './store.js';
import { clock, toMs, zoneLabel } from './time.js';

const KEY = 'zoner.reminders';
const LEAD = 5 * 60000;
const KINDS = new Set(['nap', 'sleep', 'light_seek', 'light_avoid', 'meal', 'melatonin']);
const timers = new Map();
const shown = new Set();

/** Whether reminders can be, or are, on: unsupported, denied, on or off. */
export function status() {
  return mode();
}

function mode() {
  if (typeof Notification === 'undefined' || !isSecureContext) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  return Notification.permission === 'granted' && localStorage.getItem(KEY) === 'on' ? 'on' : 'off';
}

export async function enable() {
  if (mode() === 'unsupported') return false;
  const p = await Notification.requestPermission();
  if (p !== 'granted') return false;
  localStorage.setItem(KEY, 'on');
  schedule();
  return true;
}

export function disable() {
  localStorage.setItem(KEY, 'off');
  schedule();
}

/** The reminders due from the today view: [{key, at, title, body}]. */
export function upcoming(today, now = Date.now()) {
  const out = [];
  for (const m of today?.members || []) {
    for (const it of m.next || []) {
      if (!KINDS.has(it.kind)) continue;
      // Meals only for babies' feeds; "on demand" has no time to remind of.
      if (it.kind === 'meal' && (!/feed/i.test(it.text) || /on demand/i.test(it.text))) continue;
      const at = toMs(it.start) - LEAD;
      // Due from five minutes before until it starts; the next 12 hours.
      if (toMs(it.start) <= now || at - now > 12 * 3600000) continue;
      out.push({
        key: `${m.member_id}|${it.kind}|${it.start}`, at,
        title: `${m.name}: ${it.text.split(',')[0]}`,
        body: `At ${clock(it.start, it.tz)} ${zoneLabel(it.tz)}. ${it.reason}`,
      });
    }
  }
  return out;
}

/** Sets timers for what comes up; call after every refresh. */
export function schedule() {
  for (const t of timers.values()) clearTimeout(t);
  timers.clear();
  if (mode() !== 'on') return;
  for (const r of upcoming(state.today)) {
    if (shown.has(r.key)) continue;
    timers.set(r.key, setTimeout(() => notify(r), Math.max(0, r.at - Date.now())));
  }
}

async function notify(r) {
  shown.add(r.key);
  const opts = { body: r.body, tag: r.key, icon: '/icon.svg' };
  const reg = await navigator.serviceWorker?.getRegistration?.();
  if (reg) reg.showNotification(r.title, opts);
  else new Notification(r.title, opts);
}
