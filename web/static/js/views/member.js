// The form for one person: setup uses it for each member, the Family
// screen to add or change one.

import { AGE_BANDS, ageBand, compact } from '../events.js';
import { field, h } from '../dom.js';
import { allZones, deviceZone } from '../time.js';

/**
 * A member form section. `read()` answers the member.upserted payload or
 * throws an Error naming what to fix.
 * @param {{data?: any, homeTz?: string, onremove?: () => void, legend?: string}} o
 */
export function memberForm(o = {}) {
  const d = o.data || {};
  const name = h('input', { name: 'display_name', type: 'text', maxlength: 64, required: true, value: d.display_name || '', autocomplete: 'off' });
  const birth = h('input', { name: 'birth_date', type: 'date', value: d.birth_date || '', max: new Date().toISOString().slice(0, 10) });
  const band = h('select', { name: 'age_band' }, h('option', { value: '' }, '— or pick an age group —'),
    Object.entries(AGE_BANDS).map(([v, label]) => h('option', { value: v }, label)));
  band.value = d.birth_date ? '' : d.age_band || '';
  const sleep = h('input', { name: 'sleep_time', type: 'time', required: true, value: d.sleep_time || '' });
  const wake = h('input', { name: 'wake_time', type: 'time', required: true, value: d.wake_time || '' });
  const zone = zoneSelect(d.home_tz || o.homeTz || deviceZone(), 'home_tz');
  const chrono = h('select', { name: 'chronotype' },
    h('option', { value: '' }, 'In between (most people)'),
    h('option', { value: 'early' }, 'Early bird'),
    h('option', { value: 'late' }, 'Night owl'));
  chrono.value = d.chronotype && d.chronotype !== 'intermediate' ? d.chronotype : '';
  const light = h('select', { name: 'typical_light' },
    h('option', { value: '' }, 'Some time outdoors'),
    h('option', { value: 'mostly_indoors' }, 'Mostly indoors'),
    h('option', { value: 'mostly_outdoors' }, 'Mostly outdoors'));
  light.value = d.typical_light && d.typical_light !== 'some_outdoors' ? d.typical_light : '';
  const melatonin = h('input', { name: 'melatonin_advice', type: 'checkbox', checked: d.melatonin_advice });
  const caffeine = h('input', { name: 'caffeine_advice', type: 'checkbox', checked: d.caffeine_advice });
  const adultOnly = h('fieldset', { class: 'optins' }, h('legend', {}, 'Advice for adults (opt in)'),
    h('label', { class: 'check' }, melatonin, 'Melatonin timing'),
    h('label', { class: 'check' }, caffeine, 'Caffeine timing'));
  const naps = h('div', { class: 'naps' });
  const addNap = (n = {}) => {
    const start = h('input', { name: 'nap_start', type: 'time', required: true, value: n.start || '', 'aria-label': 'Nap starts at' });
    const mins = h('input', { name: 'nap_minutes', type: 'number', min: 10, max: 240, step: 5, required: true, value: n.duration_min || 60, 'aria-label': 'Nap length in minutes', inputmode: 'numeric' });
    const row = h('div', { class: 'nap row' }, h('span', {}, 'Nap at'), start, h('span', {}, 'for'), mins, h('span', {}, 'min'),
      h('button', { type: 'button', class: 'ghost', 'aria-label': 'Remove this nap', onclick: () => row.remove() }, '✕'));
    row.read = () => ({ start: start.value, duration_min: Number(mins.value) });
    naps.append(row);
  };
  for (const n of d.naps || []) addNap(n);

  const update = () => {
    const adult = ageBand({ birth_date: birth.value, age_band: band.value }) === 'adult';
    adultOnly.hidden = !adult;
    if (!adult) {
      melatonin.checked = false;
      caffeine.checked = false;
    }
  };
  birth.addEventListener('input', () => { if (birth.value) band.value = ''; update(); });
  band.addEventListener('change', () => { if (band.value) birth.value = ''; update(); });
  update();

  const el = h('fieldset', { class: 'card member-form' },
    h('legend', {}, o.legend || 'Person'),
    field('Name', name),
    h('div', { class: 'row wrap' }, field('Birth date', birth, 'Best: the plan then knows their age on every day'), field('Age group', band)),
    h('div', { class: 'row' }, field('Usual bedtime', sleep), field('Usual wake time', wake)),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Usual naps'), naps,
      h('button', { type: 'button', class: 'secondary', 'data-action': 'add-nap', onclick: () => addNap() }, '+ Add a nap')),
    field('Home time zone', zone),
    h('details', {}, h('summary', {}, 'More about their day'),
      field('Body clock', chrono), field('Daylight on a usual day', light)),
    adultOnly,
    o.onremove ? h('button', { type: 'button', class: 'ghost danger', onclick: o.onremove }, 'Remove this person') : null);

  return {
    el,
    read() {
      if (!name.value.trim()) throw new Error('Every person needs a name.');
      if (!birth.value && !band.value) throw new Error(`Give ${name.value.trim()}'s birth date or age group.`);
      if (!sleep.value || !wake.value) throw new Error(`Give ${name.value.trim()}'s usual bedtime and wake time.`);
      const napList = [...naps.children].map((r) => r.read()).filter((n) => n.start);
      return compact({
        display_name: name.value.trim(),
        birth_date: birth.value || undefined,
        age_band: birth.value ? undefined : band.value,
        home_tz: zone.value,
        sleep_time: sleep.value,
        wake_time: wake.value,
        naps: napList,
        chronotype: chrono.value || undefined,
        typical_light: light.value || undefined,
        melatonin_advice: melatonin.checked || undefined,
        caffeine_advice: caffeine.checked || undefined,
      });
    },
  };
}

/** A select of every zone, with the given one chosen. */
export function zoneSelect(value, name) {
  const zones = allZones();
  if (value && !zones.includes(value)) zones.unshift(value);
  const sel = h('select', { name, required: true }, zones.map((z) => h('option', { value: z }, z.replaceAll('_', ' '))));
  sel.value = value;
  return sel;
}
