// Pairing a phone with a hub that serves the home network: with the
// household's pairing code, or in one tap from a pairing link (the QR code
// the hub prints, or one a paired phone shows), #/pair/<code>.

import { api, isCloud, Unreachable } from '../api.js';
import { field, h, fill } from '../dom.js';
import { load } from '../store.js';

/** The code of the pairing link this page was opened with, until used. */
let linked = '';

/**
 * Takes the code out of a pairing link's address (#/pair/<code>) before
 * anything else reads it: it stays in this page only, and the address bar
 * and the history show #/pair. The code is in the fragment, which a
 * browser never sends to a server, so it is in no log either.
 */
function takeCode() {
  const m = /^#\/pair\/([A-Za-z0-9-]{1,200})$/.exec(location.hash);
  if (!m) return;
  linked = m[1];
  history.replaceState(history.state, '', `${location.pathname}${location.search}#/pair`);
}
takeCode();
// Registered before the router's listener (this module runs first), so
// the router sees #/pair.
addEventListener('hashchange', takeCode);

/** How the hub's owner makes a new code, as the hub says; asked once. */
let command = null;

export async function pairView(root) {
  if (isCloud()) return void signInNote(root);
  if (command === null) {
    try {
      command = (await api('/api/v1/pairing')).pair_command || '';
    } catch {
      command = '';
    }
  }
  const token = h('input', {
    autofocus: !linked, type: 'text', required: true, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false',
    placeholder: 'abcd-efgh-…', value: linked,
  });
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary big', autofocus: !!linked }, 'Pair this phone');
  const how = command
    ? h('p', { class: 'muted' }, 'Lost the code? Where the hub runs, ', h('code', {}, command), ' makes a new one (then every phone pairs again).')
    : null;
  const general = 'This hub serves your home network, so each phone pairs with it once. Scan the QR code the hub showed when it started, or on a phone that is already paired open Sync, then “Add another phone”. Or type the household’s pairing code, which the hub showed when it first started.';
  const intro = h('p', {}, linked
    ? 'You opened a pairing link for this family’s hub. Tap the button to pair this phone; the link then stops working.'
    : general);
  const label = field(linked ? 'Pairing code (from the link)' : 'Pairing code', token);
  const form = h('form', { class: 'stack card pair-form' },
    h('h1', {}, 'Pair this phone'),
    intro, label, error, submit, how);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const code = token.value.trim();
    if (!code) {
      error.textContent = 'Type the pairing code first.';
      token.focus();
      return;
    }
    submit.disabled = true;
    try {
      await api('/api/v1/pairing/session', { method: 'POST', body: { token: code } });
      linked = '';
      await load();
      location.hash = '#/today';
    } catch (err) {
      error.textContent = err instanceof Unreachable
        ? 'Not paired: the hub cannot be reached. Check that this phone is on the same Wi-Fi as the hub.'
        : `Not paired: ${err.message}.`;
      if (code === linked) {
        // A used or expired link cannot work again: make room to type.
        linked = '';
        token.value = '';
        intro.textContent = general;
        label.querySelector('label').textContent = 'Pairing code';
      }
      token.focus();
    } finally {
      submit.disabled = false;
    }
  });
  fill(root, form);
}

/**
 * In the cloud there is nothing to pair: a person signs in with a link
 * their family's hub makes. This page says so, and what to do.
 */
function signInNote(root) {
  fill(root, h('div', { class: 'card stack', role: 'alert' },
    h('h1', {}, 'Sign in with a link from your hub'),
    h('p', {}, 'This is Zoner away from home. To see your family here, open Zoner on your home network, go to Sync and make a sign-in link, then open that link on this device.'),
    h('p', { class: 'muted' }, 'Signed in before? The session ended or was signed out: make a new link the same way.')));
}
