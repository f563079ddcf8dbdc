// The Family screen: who is in it, their habits, and changes to them.

import { isCloud } from '../api.js';
import { envelope, AGE_BANDS, ageBand } from '../events.js';
import { clearProblems, h, fill, hubProblems, showProblems, toast } from '../dom.js';
import * as outbox from '../outbox.js';
import { state } from '../store.js';
import { clockSection, importLink, memberForm } from './member.js';
import { uuidv7 } from '../ids.js';

export function familyView(root) {
  const list = state.members.map((m) => {
    const d = m.data;
    const band = AGE_BANDS[ageBand(d)] || '';
    return h('li', { class: 'card row between' },
      h('div', {}, h('b', {}, d.display_name), h('div', { class: 'muted' }, `${band} · bed ${d.sleep_time}, up ${d.wake_time}${d.naps?.length ? ` · ${d.naps.length} nap${d.naps.length > 1 ? 's' : ''}` : ''}`)),
      h('a', { class: 'button secondary', href: `#/family/${m.id}` }, 'Edit'));
  });
  fill(root,
    h('h1', {}, state.family?.name || 'Family'),
    h('ul', { class: 'stack plain' }, list),
    h('a', { class: 'button primary', href: '#/family/new' }, '+ Add a person'),
    isCloud() ? null : h('section', { class: 'card', 'aria-labelledby': 'your-data' },
      h('h2', { id: 'your-data' }, 'Your data'),
      h('p', {}, 'Everything this hub holds about the family — people, trips and every logged entry — as one file, to keep or to take elsewhere.'),
      h('a', { class: 'button secondary', href: '/api/v1/export', download: '' }, 'Download all our data')));
}

export function memberEditView(root, id) {
  const m = id === 'new' ? null : state.members.find((x) => x.id === id);
  if (id !== 'new' && !m) {
    fill(root, h('p', {}, 'No such person in this family.'), h('a', { href: '#/family' }, 'Back to the family'));
    return;
  }
  const f = memberForm({ data: m?.data, homeTz: state.family?.home_tz, legend: m ? m.data.display_name : 'New person' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'stack', novalidate: true }, f.el, error,
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'primary' }, 'Save'),
      h('a', { class: 'button ghost', href: '#/family' }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearProblems(form, error);
    try {
      const data = f.read();
      const e = envelope({ family: state.family.id, type: 'member.upserted', member: m ? m.id : uuidv7(), data });
      const seq = await outbox.add('/api/v1/events', [e], `${data.display_name}: ${m ? 'changes saved' : 'added'}`);
      const out = await outbox.outcome(seq);
      if (typeof out === 'object') {
        // The hub said no: the form still holds everything typed, so the
        // refused copy goes and the reasons show on their fields.
        await outbox.discard(seq);
        throw hubProblems(out.refused, (p) => f.inputFor(p.path));
      }
      toast(out === 'sent' ? `${data.display_name} saved` : `${data.display_name} saved on this phone; it goes to the hub when it can`);
      location.hash = '#/family';
    } catch (err) {
      showProblems(error, err);
    }
  });
  const remove = m ? h('button', {
    type: 'button', class: 'ghost danger', onclick: async () => {
      if (!confirm(`Remove ${m.data.display_name} from the family? Their logged sleep stays in the record.`)) return;
      await outbox.add('/api/v1/events', [envelope({ family: state.family.id, type: 'member.removed', member: m.id })], `${m.data.display_name}: removed`);
      location.hash = '#/family';
    },
  }, `Remove ${m.data.display_name}`) : null;
  fill(root, m ? clockSection(m) : null, form, m ? importLink(m) : null, remove);
}
