// First run: the family and its people, in one batch.

import { envelope } from '../events.js';
import { uuidv7 } from '../ids.js';
import { check, clearProblems, field, h, fill, hubProblems, showProblems } from '../dom.js';
import { api, Unreachable } from '../api.js';
import { deviceZone } from '../time.js';
import { memberForm, zoneSelect } from './member.js';
import { load, state } from '../store.js';

export function setupView(root) {
  const familyName = h('input', { name: 'family_name', autofocus: true, type: 'text', maxlength: 64, required: true, autocomplete: 'off', placeholder: 'The Okafors' });
  const home = zoneSelect(deviceZone(), 'family_home_tz');
  const people = h('div', { class: 'people' });
  const forms = [];
  const addPerson = () => {
    const f = memberForm({ legend: `Person ${forms.length + 1}`, homeTz: home.value, onremove: () => { f.el.remove(); forms.splice(forms.indexOf(f), 1); } });
    forms.push(f);
    people.append(f.el);
  };
  addPerson();
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary big' }, 'Save our family');
  const form = h('form', { class: 'stack', novalidate: true },
    h('h1', {}, 'Welcome to Zoner'),
    h('p', { class: 'lead' }, 'Tell Zoner who travels. Everything stays on this hub; you can change it later.'),
    field('Family name', familyName),
    field('Home time zone', home),
    people,
    h('button', { type: 'button', class: 'secondary', 'data-action': 'add-person', onclick: addPerson }, '+ Add another person'),
    error, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearProblems(form, error);
    try {
      // Every problem of every person at once, each under its field.
      const problems = [];
      if (!familyName.value.trim()) problems.push({ input: familyName, message: 'Give the family a name, like "The Okafors".' });
      if (!forms.length) problems.push({ input: null, message: 'Add at least one person.' });
      const members = [];
      for (const f of forms) {
        try {
          members.push(f.read());
        } catch (err) {
          if (!err.list) throw err;
          problems.push(...err.list);
        }
      }
      check(problems);
      // A hub that syncs with the cloud takes only the family its
      // credentials are for: set up that one.
      const sync = await api('/api/v1/sync').catch(() => null);
      const family = sync?.cloud?.family_id || uuidv7();
      const events = [envelope({ family, type: 'family.upserted', data: { name: familyName.value.trim(), home_tz: home.value } })];
      for (const data of members) events.push(envelope({ family, type: 'member.upserted', member: uuidv7(), data }));
      submit.disabled = true;
      await api('/api/v1/setup', { method: 'POST', body: events });
      await load();
      location.hash = '#/trips/new';
    } catch (err) {
      submit.disabled = false;
      if (err.status === 409) {
        // Another phone (or an earlier try whose answer was lost) set the
        // family up first.
        await load();
        if (state.phase === 'ready') {
          location.hash = '#/today';
          return;
        }
      }
      if (err.status >= 400 && err.status < 500) {
        // The hub said no: each reason on the field it names.
        err = hubProblems(err, (p) => (p.index === 0 ? { 'data.name': familyName, 'data.home_tz': home }[p.path] : forms[p.index - 1]?.inputFor(p.path)) || null);
      } else if (err.status) {
        err = new Error(`The hub could not save it (${err.message}). Try again in a moment.`);
      } else if (err instanceof Unreachable) {
        err = new Error(`The hub cannot be reached, so nothing was saved. Check the hub is on, then tap "Save our family" again.`);
      }
      showProblems(error, err);
    }
  });
  fill(root, form);
}
