// Signing in away from home. On the hub (the Sync screen): "Use Zoner
// away from home" makes a one-time sign-in link to the cloud for one
// member, or for the whole family as a guardian, and shows it as a QR
// code (drawn by the hub) and as text. In the cloud: the page a sign-in
// link opens, #/signin/<code>, trades the code for a session
// (POST /v1/auth/exchange) and goes to Today.

import { api, signingInWith, useToken } from '../api.js';
import { field, fill, h, linkField } from '../dom.js';
import { state } from '../store.js';
import { clock, deviceZone, place } from '../time.js';

/** The sign-in link made on this page, so a redraw keeps it. */
let link = null;
let linkTimer = 0;

/**
 * The Sync screen's section: who the link is for, a label for the device,
 * a button; then the QR code, the link to copy and when it stops working.
 * A hub not linked to the cloud says how to link it.
 */
export function awaySection() {
  const box = h('div', { class: 'stack away-signin' });
  const section = h('section', { class: 'card stack', 'aria-labelledby': 'away-h' },
    h('h2', { id: 'away-h' }, 'Use Zoner away from home'), box);
  const cloud = state.sync?.cloud;
  if (!cloud?.configured) {
    fill(box, h('p', { class: 'muted' }, 'Away from home, Zoner runs in the cloud from a sign-in link made here. This hub is not linked to the cloud: start it with -cloud-url and -cloud-creds.'));
    return section;
  }
  const tz = deviceZone();
  const who = h('select', { name: 'who' },
    state.members.map((m) => h('option', { value: m.id }, m.data.display_name)),
    h('option', { value: 'guardian' }, 'The whole family (guardian)'));
  const device = h('input', { type: 'text', name: 'device', maxlength: '64', autocomplete: 'off', placeholder: 'Kemi’s phone' });
  const error = h('p', { class: 'error', role: 'alert' });
  const shown = h('div', { class: 'stack' });
  const make = async () => {
    error.textContent = '';
    const body = who.value === 'guardian'
      ? { role: 'guardian', device: device.value.trim() }
      : { role: 'member', member_id: who.value, device: device.value.trim() };
    try {
      link = await api('/api/v1/cloud/signin-links', { method: 'POST', body });
      link.who = who.selectedOptions[0]?.textContent || '';
      draw();
      shown.querySelector('img')?.focus();
    } catch (err) {
      error.textContent = `No sign-in link made: ${err.message}.`;
    }
  };
  const draw = () => {
    clearTimeout(linkTimer);
    const expires = link ? Date.parse(link.expires_at) : 0;
    if (!link || expires <= Date.now()) {
      const lf = linkField('One-time sign-in link', link.url, 'invite-url');
    fill(shown, link ? h('p', { class: 'warn', role: 'status' }, 'The last sign-in link has expired. Make a new one.') : null);
      return;
    }
    fill(shown,
      h('img', { class: 'qr', src: `data:image/svg+xml;base64,${btoa(link.qr_svg)}`, tabindex: '-1', alt: `QR code of a one-time sign-in link for ${link.who}` }),
      h('p', {}, `Scan it with the phone that goes away, or send it the link. It signs in one device as ${link.who}, once, until ${clock(expires, tz)} ${place(tz)} time.`),
      lf.field,
      lf.copy);
    linkTimer = setTimeout(draw, expires - Date.now() + 500);
  };
  fill(box,
    h('p', {}, 'Sign a phone in to Zoner in the cloud, to log and see advice away from home. A link for one person lets them read the family and log for themself; a guardian’s link is for the whole family. The device stays signed in for 30 days after its last use; a guardian can sign devices out.'),
    field('Who is it for?', who),
    field('Which device? (shown in the list of signed-in devices)', device),
    h('button', { type: 'button', class: 'primary', onclick: make }, 'Make a sign-in link'),
    error, shown);
  draw();
  return section;
}

/** The code of the sign-in link this page was opened with, until used. */
let code = '';

/**
 * Takes the code out of the address (#/signin/<code>) before anything else
 * reads it: it stays in this page only, and the address bar and the
 * history show #/signin. The code is in the fragment, which a browser
 * never sends to a server, so it is in no log either.
 */
function takeCode() {
  const m = /^#\/signin\/([A-Za-z0-9]{1,128})$/.exec(location.hash);
  if (!m) return;
  code = m[1];
  history.replaceState(history.state, '', `${location.pathname}${location.search}#/signin`);
  signingInWith(exchange());
}

/** The session, once signed in: what POST /v1/auth/exchange answered. */
export const session = { current: null };

/**
 * Trades the code for a session. The answer's access token is for
 * "Authorization: Bearer" (15 minutes); the refresh cookie it sets renews
 * it through POST /v1/auth/refresh. The token goes to the backend adapter
 * (useToken), and the zoner:signedin event has the app load the family.
 */
async function exchange() {
  const c = code;
  code = '';
  let res;
  try {
    res = await fetch('/v1/auth/exchange', {
      method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: c }),
    });
  } catch {
    return failed('The cloud cannot be reached now. Check the connection, then open the link again (it works for 10 minutes, once).');
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) return failed(body?.message || `The cloud answered ${res.status}.`);
  session.current = body;
  useToken(body.access_token);
  dispatchEvent(new CustomEvent('zoner:signedin', { detail: body }));
  if (location.hash === '#/today') dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = '#/today';
}

/** Shows why signing in failed, over whatever the page shows. */
function failed(message) {
  const card = h('section', { class: 'card stack signin-failed', role: 'alertdialog', 'aria-labelledby': 'signin-h' },
    h('h1', { id: 'signin-h' }, 'Not signed in'),
    h('p', { class: 'error' }, message),
    h('p', {}, 'On a phone paired with the hub at home, open Sync, then “Use Zoner away from home”, for a new link.'),
    h('button', { type: 'button', class: 'secondary', onclick: () => card.remove() }, 'Close'));
  document.body.append(card);
  card.querySelector('button')?.focus();
}

/** The #/signin page: what it says while the code is traded. */
export function signinView(root) {
  fill(root, h('h1', {}, 'Signing in…'), h('p', { class: 'muted' }, 'Trading the link for a session with the cloud.'));
}

takeCode();
// Registered when the Sync screen's module loads, before the router's
// first look at the address.
addEventListener('hashchange', takeCode);
