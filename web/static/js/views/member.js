// The form for one person: setup uses it for each member, the Family
// screen to add or change one.

import { api, isCloud } from '../api.js';
import { AGE_BANDS, ageBand, compact } from '../events.js';
import { check, field, h } from '../dom.js';
import { allZones, deviceZone, duration } from '../time.js';

/**
 * A member form section. `read()` answers the member.upserted payload or
 * throws FormProblems naming each field to fix; `inputFor(path)` is the
 * field a path of the hub's names (data.naps[0].start), for its refusals.
 * @param {{data?: any, homeTz?: string, onremove?: () => void, legend?: string}} o
 */
export function memberForm(o = {}) {
  const d = o.data || {};
  const name = h('input', { name: 'display_name', type: 'text', maxlength: 64, required: true, value: d.display_name || '', autocomplete: 'off' });
  const birth = h('input', { name: 'birth_date', type: 'date', value: d.birth_date || '', max: localDate() });
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
    const row = h('div', { class: 'nap row', 'data-error-anchor': '' }, h('span', {}, 'Nap at'), start, h('span', {}, 'for'), mins, h('span', {}, 'min'),
      h('button', { type: 'button', class: 'ghost', 'aria-label': 'Remove this nap', onclick: () => row.remove() }, '✕'));
    row.read = () => ({ start: start.value, duration_min: Number(mins.value) });
    row.inputs = { start, mins };
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
      const who = name.value.trim() || o.legend || 'This person';
      const whose = `${who}'s`;
      const problems = [];
      if (!name.value.trim()) problems.push({ input: name, message: `${o.legend || 'This person'}: give a name.` });
      const today = localDate();
      if (birth.validity.badInput) problems.push({ input: birth, message: `${whose} birth date is not complete: give the day, month and year.` });
      else if (!birth.value && !band.value) problems.push({ input: birth, message: `Give ${whose} birth date, or pick an age group.` });
      else if (birth.value && birth.value > today) problems.push({ input: birth, message: `${whose} birth date is in the future: check the year.` });
      else if (birth.value && birth.value < '1900-01-01') problems.push({ input: birth, message: `${whose} birth date is before 1900: check the year.` });
      if (!sleep.value) problems.push({ input: sleep, message: `Give ${whose} usual bedtime, like 19:30.` });
      if (!wake.value) problems.push({ input: wake, message: `Give ${whose} usual wake time, like 06:30.` });
      const mins = (t) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
      const mod = (a) => ((a % 1440) + 1440) % 1440;
      const night = sleep.value && wake.value ? mod(mins(wake.value) - mins(sleep.value)) : null;
      if (night != null && (night < 180 || night > 1200)) {
        problems.push({ input: wake, message: `${whose} night from ${sleep.value} to ${wake.value} lasts ${duration(night)}; a night lasts 3 to 20 hours. Check the bedtime and wake time.` });
      }
      const spans = [];
      [...naps.children].forEach((row, i) => {
        const label = `Nap ${i + 1} for ${who}`;
        const { start, mins: len } = row.inputs;
        const n = Number(len.value);
        if (!start.value) problems.push({ input: start, message: `${label}: give a start time, or remove the nap.` });
        if (!len.value || !Number.isFinite(n) || n < 10 || n > 240) problems.push({ input: len, message: `${label}: give a length from 10 to 240 minutes.` });
        else if (start.value && night != null && night >= 180 && night <= 1200) {
          const from = mod(mins(start.value) - mins(wake.value));
          if (from + n > 1440 - night) {
            problems.push({ input: start, message: `${label}: ${start.value} for ${n} min is not between waking at ${wake.value} and bedtime at ${sleep.value}. Change its time, or remove it.` });
          } else {
            const clash = spans.find((x) => from < x.to && x.from < from + n);
            if (clash) problems.push({ input: start, message: `${label} overlaps nap ${clash.i + 1}: move one of them.` });
            spans.push({ i, from, to: from + n });
          }
        }
      });
      check(problems);
      const napList = [...naps.children].map((r) => r.read());
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
    inputFor(path) {
      const nap = /^data\.naps\[(\d+)\](\.duration_min)?/.exec(path || '');
      if (nap) {
        const row = naps.children[Number(nap[1])];
        return row ? (nap[2] ? row.inputs.mins : row.inputs.start) : null;
      }
      return { 'data.display_name': name, 'data.birth_date': birth, 'data.age_band': band, 'data.sleep_time': sleep, 'data.wake_time': wake, 'data.home_tz': zone, 'data.chronotype': chrono, 'data.typical_light': light, 'data.melatonin_advice': melatonin, 'data.caffeine_advice': caffeine }[path] || null;
    },
  };
}

/** Today's date on this device, 2026-12-19. */
function localDate() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** A select of every zone, with the given one chosen. */
export function zoneSelect(value, name) {
  const zones = allZones();
  if (value && !zones.includes(value)) zones.unshift(value);
  const sel = h('select', { name, required: true }, zones.map((z) => h('option', { value: z }, z.replaceAll('_', ' '))));
  sel.value = value;
  return sel;
}

/**
 * The link to import a member's sleep history from a tracker's export;
 * null in the cloud, which takes no files (the hub does, at home).
 * @param {{id: string}} m
 */
export function importLink(m) {
  if (isCloud()) return null;
  return h('a', { class: 'button secondary', href: `#/members/${m.id}/import` }, 'Import sleep history');
}

/**
 * What the hub has learned of a person's body clock, in words: a section
 * that fills itself from the hub (hub only: the cloud does not calibrate).
 */
export function clockSection(m) {
  if (isCloud()) return null;
  const says = h('p', { 'data-clock-summary': '' }, 'Reading what Zoner has learned…');
  const busy = h('p', { class: 'muted', hidden: true }, 'Learning from new nights; plans use the last estimate meanwhile.');
  const section = h('section', { class: 'card', 'aria-labelledby': `clock-${m.id}` },
    h('h2', { id: `clock-${m.id}` }, 'Body clock'), says, busy);
  api(`/api/v1/members/${m.id}/clock`).then((c) => {
    says.textContent = c.summary;
    section.dataset.clockState = c.state;
    busy.hidden = !c.updating;
  }).catch(() => {
    says.textContent = 'What Zoner has learned of this body clock cannot be read now.';
  });
  return section;
}
