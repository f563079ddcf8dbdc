// Push reminders from the cloud, on the Sync screen. Shown only when the
// UI is served by the cloud (it answers GET /v1/push/vapid-key): this
// device subscribes through the service worker with the cloud's VAPID
// key, for the members it picks; each member opts in, with quiet hours in
// the zone they are in. The cloud sends a push a few minutes before each
// nap, bedtime, light window, feed or meal and melatonin of the plan, even
// while Zoner is closed.

import { h, fill, toast, field } from '../dom.js';
import * as backend from '../api.js';
import { state } from '../store.js';

const PREFS_KEY = 'zoner-push-prefs';
const DEVICE_KEY = 'zoner-push-members';

/** The cloud's VAPID key, once asked: a string, or '' off the cloud. */
let vapidKey = null;

/**
 * The push section: an empty placeholder filled once the cloud answers;
 * it stays empty (and hidden) on a hub.
 * @returns {HTMLElement}
 */
export function notifySection() {
  const root = h('section', { class: 'card stack', 'aria-labelledby': 'push-h', hidden: true, id: 'push-section' });
  render(root).catch((err) => {
    fill(root, h('h2', { id: 'push-h' }, 'Reminders from the cloud'), h('p', { class: 'error' }, `Cannot set up push reminders: ${err.message}`));
    root.hidden = false;
  });
  return root;
}

/** The value of an export of the backend adapter, called if a function. */
function exported(name) {
  const v = backend[name];
  return typeof v === 'function' ? v() : v;
}

/**
 * Whether the UI talks to the cloud: the adapter says so (its `mode` is
 * 'cloud', or `isCloud` is true), or the page is marked
 * data-zoner-backend="cloud". On a hub nothing is asked, so the hub's log
 * and the browser's console stay quiet.
 */
export function isCloud() {
  return exported('mode') === 'cloud' || exported('isCloud') === true || document.documentElement.dataset.zonerBackend === 'cloud';
}

async function key() {
  if (!isCloud()) return '';
  if (vapidKey !== null) return vapidKey;
  try {
    const res = await fetch('/v1/push/vapid-key', { credentials: 'same-origin' });
    const body = res.ok ? await res.json() : null;
    vapidKey = typeof body?.public_key === 'string' ? body.public_key : '';
  } catch {
    vapidKey = null; // offline: ask again next time
    return '';
  }
  return vapidKey;
}

/** Which member this session is, when it is a member's (not a guardian's). */
function sessionMember() {
  const s = exported('session');
  return s?.role === 'member' ? s.member_id : null;
}

function load(name, def) {
  try {
    return JSON.parse(localStorage.getItem(name)) ?? def;
  } catch {
    return def;
  }
}

function save(name, v) {
  localStorage.setItem(name, JSON.stringify(v));
}

function supported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/** base64url (with or without padding) to bytes, for applicationServerKey. */
export function keyBytes(b64) {
  const s = b64.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(s + '='.repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function render(root) {
  const k = await key();
  if (!k || !state.family) return;
  root.hidden = false;
  const fam = state.family.id;
  const me = sessionMember();
  const members = state.members.filter((m) => !me || m.id === me);
  if (!supported()) {
    fill(root, h('h2', { id: 'push-h' }, 'Reminders from the cloud'),
      h('p', {}, 'This browser cannot take push notifications (on an iPhone, add Zoner to the home screen first).'));
    return;
  }
  const reg = await navigator.serviceWorker.ready;
  const sub = await reg.pushManager.getSubscription();
  const chosen = new Set(load(DEVICE_KEY, members.map((m) => m.id)).filter((id) => members.some((m) => m.id === id)));
  const prefs = load(PREFS_KEY, {});

  const boxes = members.map((m) => h('input', { type: 'checkbox', checked: chosen.has(m.id), value: m.id }));
  const device = h('fieldset', { class: 'stack' }, h('legend', {}, 'On this device, reminders for'),
    members.map((m, i) => h('label', { class: 'row' }, boxes[i], ` ${m.data.display_name}`)));

  const subscribe = async () => {
    const picked = boxes.filter((b) => b.checked).map((b) => b.value);
    if (!picked.length) {
      toast('Pick at least one person');
      return;
    }
    if (Notification.permission !== 'granted' && (await Notification.requestPermission()) !== 'granted') {
      toast('Push reminders need permission to notify');
      return;
    }
    let s = await reg.pushManager.getSubscription();
    const want = keyBytes(k);
    const have = s?.options?.applicationServerKey ? new Uint8Array(s.options.applicationServerKey) : null;
    if (s && (!have || have.length !== want.length || have.some((b, i) => b !== want[i]))) {
      await s.unsubscribe(); // made with another key: the cloud could not send to it
      s = null;
    }
    if (!s) s = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: want });
    await backend.api(`/v1/families/${fam}/push/subscriptions`, { method: 'POST', body: { ...s.toJSON(), members: picked } });
    save(DEVICE_KEY, picked);
    toast('Push reminders on for this device');
    render(root);
  };
  const unsubscribe = async () => {
    const s = await reg.pushManager.getSubscription();
    if (s) {
      await backend.api(`/v1/families/${fam}/push/subscriptions?endpoint=${encodeURIComponent(s.endpoint)}`, { method: 'DELETE' });
      await s.unsubscribe();
    }
    toast('Push reminders off for this device');
    render(root);
  };

  fill(root,
    h('h2', { id: 'push-h' }, 'Reminders from the cloud'),
    h('p', { class: 'muted' }, 'A push a few minutes before each nap, bedtime, light window, feed and melatonin of the plan — even while Zoner is closed. Each person opts in below; nothing comes in their quiet hours.'),
    device,
    h('div', { class: 'row' },
      h('button', { type: 'button', class: sub ? 'secondary' : 'primary', id: 'push-subscribe', onclick: () => subscribe().catch(fail) },
        sub ? 'Update this device' : 'Turn on push for this device'),
      sub ? h('button', { type: 'button', class: 'ghost danger', id: 'push-unsubscribe', onclick: () => unsubscribe().catch(fail) }, 'Turn off') : null),
    h('ul', { class: 'plain stack' }, members.map((m) => h('li', { class: 'stack' }, memberPrefs(fam, m, prefs)))));
}

function fail(err) {
  toast(`Push reminders: ${err?.detail || err?.message || err}`);
}

/** One member's opt-in and quiet hours. */
function memberPrefs(fam, m, prefs) {
  const p = prefs[m.id] || { enabled: false, quiet_start: '22:00', quiet_end: '07:00' };
  const on = h('input', { type: 'checkbox', checked: p.enabled });
  const from = h('input', { type: 'time', value: p.quiet_start || '' });
  const to = h('input', { type: 'time', value: p.quiet_end || '' });
  const form = h('form', { class: 'stack', 'data-member': m.id },
    h('label', { class: 'row' }, on, ` ${m.data.display_name}: send reminders`),
    h('div', { class: 'row' }, field('Quiet from', from), field('until', to, 'In the zone they are in')),
    h('button', { type: 'submit', class: 'secondary' }, 'Save'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { enabled: on.checked, quiet_start: from.value, quiet_end: to.value };
    if (!body.quiet_start || !body.quiet_end) body.quiet_start = body.quiet_end = '';
    try {
      await backend.api(`/v1/families/${fam}/members/${m.id}/notifications`, { method: 'PUT', body });
      prefs[m.id] = body;
      save(PREFS_KEY, prefs);
      toast(`${m.data.display_name}: ${body.enabled ? 'reminders on' : 'reminders off'}`);
    } catch (err) {
      fail(err);
    }
  });
  return form;
}
