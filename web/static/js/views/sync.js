// Sync: what waits to be sent, what the hub holds, the cloud link,
// calendars and reminders.

import { h, fill, linkField, toast } from '../dom.js';
import { api, problemText } from '../api.js';
import * as outbox from '../outbox.js';
import * as reminders from '../reminders.js';
import { state } from '../store.js';
import { clock, dayClock, deviceZone, place } from '../time.js';
import { awaySection } from './signin.js';
import { notifySection } from './notify.js';

export async function syncView(root) {
  if (!pairing) {
    try {
      pairing = await api('/api/v1/pairing');
    } catch {
      // Offline: the section says so.
    }
  }
  const entries = await outbox.list();
  const tz = deviceZone();
  const waiting = entries.filter((e) => !e.refused);
  const refused = entries.filter((e) => e.refused);
  const s = state.sync;
  const cloud = s?.cloud;
  fill(root,
    h('h1', {}, 'Sync'),
    h('section', { class: 'card stack', 'aria-labelledby': 'wait-h' },
      h('h2', { id: 'wait-h' }, waiting.length ? `${waiting.length} waiting to reach the hub` : 'Everything logged here has reached the hub'),
      waiting.length ? h('p', { class: 'muted' }, outbox.status.reachable
        ? 'Sending…'
        : 'The hub cannot be reached. These are kept on this phone and sent as soon as it is back; sending twice never counts twice.') : null,
      waiting.length ? h('ul', { class: 'plain stack' }, waiting.map((e) => h('li', { class: 'row between' },
        h('span', {}, e.label), h('small', { class: 'muted' }, `logged ${dayClock(e.added, tz)}${e.attempts ? ` · ${e.attempts} tries` : ''}`)))) : null,
      waiting.length ? h('button', { type: 'button', class: 'secondary', onclick: () => outbox.retryNow() }, 'Try now') : null),
    refused.length ? h('section', { class: 'card stack', 'aria-labelledby': 'refused-h' },
      h('h2', { id: 'refused-h' }, 'The hub refused these'),
      h('ul', { class: 'plain stack' }, refused.map((e) => h('li', { class: 'stack' },
        h('b', {}, e.label),
        h('p', { class: 'error' }, e.refused.message),
        e.refused.problems?.length ? h('ul', {}, e.refused.problems.map((p) => h('li', {}, problemText(p)))) : null,
        h('button', { type: 'button', class: 'ghost danger', onclick: async () => { await outbox.discard(e.seq); syncView(root); } }, 'Discard'))))) : null,
    h('section', { class: 'card stack', 'aria-labelledby': 'hub-h' },
      h('h2', { id: 'hub-h' }, 'This hub'),
      s ? h('p', {}, `${s.log_seq} events recorded, ${s.applied_seq} applied.`) : h('p', { class: 'muted' }, 'Not loaded yet.'),
      h('p', {}, !cloud?.configured
        ? 'Cloud sync is not set up on this hub: everything stays on it.'
        : `Cloud ${cloud.linked ? 'linked' : 'not reachable now (everything waits on the hub)'}: ${cloud.pending ?? 0} waiting to go up${cloud.last_synced ? `, last in step ${dayClock(cloud.last_synced, tz)}` : ', not synced yet'}${cloud.received ? `, ${cloud.received} received from the family’s other devices` : ''}.`),
      cloud?.last_error ? h('p', { class: 'warn' }, `Last sync problem: ${cloud.last_error}`) : null,
      state.saved ? h('p', { class: 'warn' }, `Showing the copy saved ${dayClock(Date.parse(state.saved), tz)}: the hub cannot be reached.`) : null),
    h('section', { class: 'card stack', 'aria-labelledby': 'cal-h' },
      h('h2', { id: 'cal-h' }, 'Calendars'),
      h('p', { class: 'muted' }, 'Subscribe to each person’s plan in the phone’s calendar, with an alarm before each item: reminders even when Zoner is closed, and the calendar follows every re-plan. Whoever has a link can read that plan; stop a person’s links here.'),
      h('ul', { class: 'plain stack' }, state.members.map((m) => h('li', { class: 'stack' }, calendarControl(m)))),
      h('p', { class: 'muted small cal-hint' }, 'Tapping Subscribe does nothing on your phone? Copy the link, then in the calendar app add a calendar “from URL” (also called “subscribe by URL”) and paste it.')),
    h('section', { class: 'card stack', 'aria-labelledby': 'phone-h' },
      h('h2', { id: 'phone-h' }, 'Add another phone'),
      phoneControl(tz)),
    awaySection(),
    h('section', { class: 'card stack', 'aria-labelledby': 'rem-h' },
      h('h2', { id: 'rem-h' }, 'Reminders'),
      h('p', { class: 'muted' }, 'A notice a few minutes before a nap, bedtime, a light window or a feed — while Zoner is open on this phone.'),
      reminderControl()),
    notifySection(),
    h('p', { class: 'muted small' }, 'Airport data © OpenFlights contributors, under the Open Database License (',
      h('a', { href: '/js/AIRPORTS-LICENSE.md' }, 'details'), ').'));
}

function reminderControl() {
  const st = reminders.status();
  if (st === 'unsupported') return h('p', {}, 'This browser cannot show notifications here (they need the hub over HTTPS or on this device).');
  if (st === 'denied') return h('p', {}, 'Notifications are blocked for this site in the browser’s settings.');
  if (st === 'on') return h('button', { type: 'button', class: 'secondary', onclick: (ev) => { reminders.disable(); ev.target.replaceWith(reminderControl()); } }, 'Turn reminders off');
  return h('button', {
    type: 'button', class: 'primary', onclick: async (ev) => {
      const ok = await reminders.enable();
      toast(ok ? 'Reminders on' : 'Reminders need permission to notify');
      ev.target.replaceWith(reminderControl());
    },
  }, 'Turn reminders on');
}

/** What the hub says of pairing: {lan, pair_command, lan_command}. */
let pairing = null;
/** The pairing link made on this page, so a redraw keeps it. */
let invite = null;
let inviteTimer = 0;

/**
 * Another phone: on a hub that serves the home network, a button that
 * makes a one-time pairing link and shows it as a QR code (drawn by the
 * hub) and as text to copy; on a hub for this computer only, how to serve
 * phones.
 */
function phoneControl(tz) {
  const box = h('div', { class: 'stack phone-invite' });
  if (!pairing) {
    return fill(box, h('p', { class: 'muted' }, 'The hub cannot be reached now: pairing another phone needs it.'));
  }
  if (!pairing.lan) {
    return fill(box,
      h('p', {}, 'This hub serves only this computer, so phones cannot reach it. To use Zoner on phones on the same Wi-Fi, stop the hub and start it with:'),
      h('p', {}, h('code', {}, pairing.lan_command || 'zoner-hub -lan')));
  }
  const draw = () => {
    clearTimeout(inviteTimer);
    const error = h('p', { class: 'error', role: 'alert' });
    const make = async () => {
      error.textContent = '';
      try {
        invite = await api('/api/v1/pairing/invites', { method: 'POST' });
        draw();
        box.querySelector('img')?.focus();
      } catch (err) {
        error.textContent = `No pairing link made: ${err.message}.`;
      }
    };
    const expires = invite ? Date.parse(invite.expires_at) : 0;
    if (!invite || expires <= Date.now()) {
      fill(box,
        invite ? h('p', { class: 'warn', role: 'status' }, 'The last pairing link has expired. Make a new one.') : null,
        h('p', {}, 'Pair a partner’s or grandparent’s phone: make a one-time link here, then scan its QR code with the other phone’s camera. It works once, for 10 minutes.'),
        h('button', { type: 'button', class: 'secondary', onclick: make }, 'Show a pairing QR code'),
        error);
      return;
    }
    const lf = linkField('One-time pairing link', invite.url, 'invite-url');
    const src = `data:image/svg+xml;base64,${btoa(invite.qr_svg)}`;
    fill(box,
      h('img', { class: 'qr', src, tabindex: '-1', alt: 'QR code of a one-time pairing link for another phone' }),
      h('p', {}, `Scan it with the other phone’s camera, or send it the link. It pairs one phone, until ${clock(expires, tz)} ${place(tz)} time.`),
      lf.field,
      h('div', { class: 'row wrap' },
        lf.copy,
        h('button', { type: 'button', class: 'ghost', onclick: make }, 'Make a new link')),
      error);
    inviteTimer = setTimeout(draw, expires - Date.now() + 500);
  };
  draw();
  return box;
}

// The feed links made on this page, by member id, so a redraw keeps them.
const links = new Map();

/**
 * A person's calendar: a button that makes a feed link, then the link as
 * webcal:// for the calendar app and as http(s):// to copy, and a button
 * that stops every link of theirs.
 */
function calendarControl(m) {
  const name = m.data.display_name;
  const box = h('div', { class: 'stack', 'data-member': m.id });
  const draw = () => {
    const link = links.get(m.id);
    const error = h('p', { class: 'error', role: 'alert' });
    const make = async () => {
      error.textContent = '';
      try {
        links.set(m.id, await api(`/api/v1/members/${m.id}/feeds`, { method: 'POST' }));
        draw();
      } catch (err) {
        error.textContent = err.message;
      }
    };
    const revoke = async () => {
      error.textContent = '';
      try {
        const r = await api(`/api/v1/members/${m.id}/feeds/revoke`, { method: 'POST' });
        links.delete(m.id);
        draw();
        toast(`${r.revoked} calendar link${r.revoked === 1 ? '' : 's'} for ${name} stopped`);
      } catch (err) {
        error.textContent = err.message;
      }
    };
    const stop = h('button', { type: 'button', class: 'ghost danger', onclick: revoke }, `Stop ${name}’s links`);
    if (!link) {
      fill(box, h('div', { class: 'row wrap' }, h('button', { type: 'button', class: 'secondary', onclick: make }, `Calendar for ${name}`), stop), error);
      return;
    }
    const lf = linkField(`Link for ${name}’s calendar, to paste into a calendar app`, link.url, 'feed-url');
    fill(box,
      h('a', { class: 'button primary', href: link.webcal }, `Subscribe to ${name}’s calendar`),
      lf.field,
      h('div', { class: 'row wrap' }, lf.copy, stop),
      error);
  };
  draw();
  return box;
}
