// Pairing a phone with a hub that serves the home network.

import { api } from '../api.js';
import { field, h, fill } from '../dom.js';
import { load } from '../store.js';

export function pairView(root) {
  const token = h('input', { autofocus: true, type: 'text', required: true, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', placeholder: 'abcd-efgh-…' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'stack card' },
    h('h1', {}, 'Pair this phone'),
    h('p', {}, 'This hub serves your home network, so it asks for the household’s pairing code once per phone. The hub printed it when it first started; ',
      h('code', {}, 'zoner-hub pair'), ' makes a new one.'),
    field('Pairing code', token), error,
    h('button', { type: 'submit', class: 'primary big' }, 'Pair'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    try {
      await api('/api/v1/pairing/session', { method: 'POST', body: { token: token.value.trim() } });
      await load();
      location.hash = '#/today';
    } catch (err) {
      error.textContent = err.message;
    }
  });
  fill(root, form);
}
