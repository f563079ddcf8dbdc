// Trips: the list, and the form for a trip's flights. Times are typed in
// the local time of each airport, as they are printed on a ticket; the
// form shows what that means in the other places.

import { envelope, compact } from '../events.js';
import { uuidv7 } from '../ids.js';
import { check, clearProblems, field, h, fill, hubProblems, showProblems, toast } from '../dom.js';
import * as outbox from '../outbox.js';
import { placePicker, airports, legPlace, UNPICKED } from '../picker.js';
import { state } from '../store.js';
import { dayClock, duration, place, rfc3339, wall, zoned, toMs } from '../time.js';

export async function tripsView(root) {
  const live = state.trips.filter((t) => !t.removed);
  // Airports are named by their city (SFO: San Francisco, not Los Angeles).
  if (live.some((t) => t.data.legs.some((l) => l.from || l.to))) await airports();
  fill(root,
    h('h1', {}, 'Trips'),
    live.length ? h('ul', { class: 'stack plain' }, live.map((t) => {
      const legs = t.data.legs;
      const first = legs[0];
      const last = legs[legs.length - 1];
      return h('li', { class: 'card' },
        h('a', { href: `#/trips/${t.id}`, class: 'cardlink' },
          h('b', {}, t.data.name || `${legPlace(first.from, first.from_tz)} → ${legPlace(last.to, last.to_tz)}`),
          h('div', { class: 'muted' }, `Leaves ${dayClock(first.depart, first.from_tz)} ${legPlace(first.from, first.from_tz)} time · ${legs.length} flight${legs.length > 1 ? 's' : ''}`)));
    })) : h('p', { class: 'muted' }, 'No trips yet.'),
    h('a', { class: 'button primary', href: '#/trips/new' }, '+ Plan a trip'));
}

/** A place value for the picker from a leg's airport and zone. */
async function placeOf(iata, tz) {
  if (iata) {
    const a = (await airports()).find((x) => x.iata === iata);
    if (a) return { iata, tz, label: `${iata} · ${a.city || a.name}` };
    return { iata, tz, label: iata };
  }
  return { tz, label: place(tz) };
}

export async function tripEditView(root, id) {
  const trip = id === 'new' ? null : state.trips.find((t) => t.id === id);
  if (id !== 'new' && !trip) {
    fill(root, h('p', {}, 'No such trip.'), h('a', { href: '#/trips' }, 'Back to trips'));
    return;
  }
  if (!state.members.length) {
    fill(root, h('p', {}, 'Add the family first.'), h('a', { href: '#/family/new' }, 'Add a person'));
    return;
  }
  const d = trip?.data || {};
  const name = h('input', { name: 'trip_name', type: 'text', maxlength: 64, value: d.name || '', placeholder: 'Christmas in London' });
  const legsBox = h('div', { class: 'stack' });
  const legs = [];
  const addLeg = async (leg) => {
    const prev = legs[legs.length - 1];
    const l = legForm(legs.length + 1, leg ? {
      flight: leg.flight, from: await placeOf(leg.from, leg.from_tz), to: await placeOf(leg.to, leg.to_tz),
      depart: wall(toMs(leg.depart), leg.from_tz), arrive: wall(toMs(leg.arrive), leg.to_tz),
    } : { from: prev?.to.value || null }, () => {
      l.el.remove();
      legs.splice(legs.indexOf(l), 1);
    });
    legs.push(l);
    legsBox.append(l.el);
  };
  for (const leg of d.legs || []) await addLeg(leg);
  if (!legs.length) await addLeg();
  const travellers = state.members.map((m) => {
    const box = h('input', { type: 'checkbox', value: m.id, checked: trip ? d.travellers.includes(m.id) : true });
    return { box, el: h('label', { class: 'check' }, box, m.data.display_name) };
  });
  const intensity = ['gentle', 'balanced', 'aggressive'].map((v) => {
    const r = h('input', { type: 'radio', name: 'intensity', value: v, checked: (d.intensity || 'balanced') === v });
    return { r, el: h('label', { class: 'check' }, r, { gentle: 'Gentle', balanced: 'Balanced', aggressive: 'Fast' }[v]) };
  });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'stack', novalidate: true },
    h('h1', {}, trip ? 'Change the trip' : 'Plan a trip'),
    field('Trip name (optional)', name),
    legsBox,
    h('button', { type: 'button', class: 'secondary', onclick: () => addLeg() }, '+ Add a flight'),
    h('fieldset', { 'data-error-anchor': '' }, h('legend', {}, 'Who travels'), travellers.map((t) => t.el)),
    h('fieldset', {}, h('legend', {}, 'How hard to push'), intensity.map((i) => i.el),
      h('small', { class: 'hint' }, 'Gentle shifts less each day before you fly; Fast adapts sooner but asks more.')),
    error,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary big' }, 'Save trip and make the plan'),
      h('a', { class: 'button ghost', href: trip ? `#/trips/${trip.id}` : '#/trips' }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearProblems(form, error);
    try {
      const problems = [];
      const who = travellers.filter((t) => t.box.checked).map((t) => t.box.value);
      if (!who.length) problems.push({ input: travellers[0].box, message: 'Tick at least one person who travels.' });
      const read = [];
      for (const l of legs) {
        const r = await l.read();
        problems.push(...r.problems);
        read.push(r.leg);
      }
      for (let i = 1; i < read.length; i++) {
        if (read[i] && read[i - 1] && toMs(read[i].depart) < toMs(read[i - 1].arrive)) {
          problems.push({ input: legs[i].dTime, message: `Flight ${i + 1} leaves before flight ${i} lands: check its date and time (local to each airport).` });
        }
      }
      check(problems);
      const tripId = trip?.id || uuidv7();
      const data = compact({
        trip_id: tripId,
        name: name.value.trim() || undefined,
        legs: read,
        travellers: who,
        intensity: intensity.find((i) => i.r.checked)?.r.value,
      });
      const first = data.legs[0];
      const e = envelope({ family: state.family.id, type: 'trip.upserted', data });
      const seq = await outbox.add('/api/v1/events', [e], `Trip ${data.name || `${legPlace(first.from, first.from_tz)} →`} saved`);
      const out = await outbox.outcome(seq);
      if (typeof out === 'object') {
        // The hub said no: the form still holds the trip, so the refused
        // copy goes and the reasons show on their fields.
        await outbox.discard(seq);
        throw hubProblems(out.refused, (p) => {
          const leg = /^data\.legs\[(\d+)\]\.(\w+)/.exec(p.path || '');
          if (leg) return legs[Number(leg[1])]?.inputFor(leg[2]) || null;
          return p.path === 'data.name' ? name : null;
        });
      }
      toast(out === 'sent' ? 'Trip saved; the plan is being made' : 'Trip saved on this phone; the plan is made when the hub can be reached');
      location.hash = `#/trips/${tripId}`;
    } catch (err) {
      showProblems(error, err);
    }
  });
  const remove = trip ? h('button', {
    type: 'button', class: 'ghost danger', onclick: async () => {
      if (!confirm('Remove this trip and its plans?')) return;
      await outbox.add('/api/v1/events', [envelope({ family: state.family.id, type: 'trip.removed', data: { trip_id: trip.id } })], 'Trip removed');
      location.hash = '#/trips';
    },
  }, 'Remove this trip') : null;
  fill(root, form, remove);
}

/** One flight of the trip form. */
function legForm(n, v, onremove) {
  const flight = h('input', { name: 'flight', type: 'text', maxlength: 8, value: v.flight || '', placeholder: 'BA286', autocapitalize: 'characters', autocomplete: 'off' });
  flight.addEventListener('input', () => { flight.value = flight.value.toUpperCase().replace(/\s+/g, ''); });
  const summary = h('p', { class: 'hint summary', 'aria-live': 'polite' });
  const from = placePicker({ name: 'from', label: 'From', value: v.from, required: true, onchange: () => show() });
  const to = placePicker({ name: 'to', label: 'To', value: v.to, required: true, onchange: () => show() });
  const dDate = h('input', { name: 'depart_date', type: 'date', required: true, value: v.depart?.date || '' });
  const dTime = h('input', { name: 'depart_time', type: 'time', required: true, value: v.depart?.time || '' });
  const aDate = h('input', { name: 'arrive_date', type: 'date', required: true, value: v.arrive?.date || '' });
  const aTime = h('input', { name: 'arrive_time', type: 'time', required: true, value: v.arrive?.time || '' });
  dDate.addEventListener('change', () => { if (!aDate.value) aDate.value = dDate.value; show(); });
  for (const i of [dTime, aDate, aTime]) i.addEventListener('change', () => show());
  const times = () => {
    if (!from.value || !to.value || !dDate.value || !dTime.value || !aDate.value || !aTime.value) return null;
    return { dep: zoned(dDate.value, dTime.value, from.value.tz), arr: zoned(aDate.value, aTime.value, to.value.tz) };
  };
  const show = () => {
    const t = times();
    if (!t) {
      summary.textContent = '';
      return;
    }
    const mins = (t.arr.ms - t.dep.ms) / 60000;
    const parts = [`Flight time ${mins > 0 ? duration(mins) : '—'}.`];
    const fromPlace = legPlace(from.value.iata, from.value.tz);
    const toPlace = legPlace(to.value.iata, to.value.tz);
    if (from.value.tz !== to.value.tz) parts.push(`Lands at ${dayClock(t.arr.ms, from.value.tz)} ${fromPlace} time.`);
    if (!t.dep.exact) parts.push(`${dTime.value} does not exist on that day in ${fromPlace} (the clocks change); read as ${dayClock(t.dep.ms, from.value.tz)}.`);
    if (!t.arr.exact) parts.push(`${aTime.value} does not exist on that day in ${toPlace} (the clocks change); read as ${dayClock(t.arr.ms, to.value.tz)}.`);
    summary.textContent = parts.join(' ');
  };
  const el = h('fieldset', { class: 'card leg' }, h('legend', {}, `Flight ${n}`),
    field('Flight number (optional)', flight),
    from.el,
    h('div', { class: 'row' }, field('Departs (local date)', dDate), field('at (local time)', dTime)),
    to.el,
    h('div', { class: 'row' }, field('Arrives (local date)', aDate), field('at (local time)', aTime)),
    summary,
    n > 1 ? h('button', { type: 'button', class: 'ghost danger', onclick: onremove }, 'Remove this flight') : null);
  queueMicrotask(show);
  const inputs = { flight, from: from.input, to: to.input, from_tz: from.input, to_tz: to.input, depart: dTime, arrive: aTime };
  return {
    el,
    dTime,
    get to() { return to; },
    inputFor: (key) => inputs[key] || null,
    /** The leg, and what is wrong with it, each problem on its field. */
    async read() {
      const problems = [];
      const fail = (input, message) => problems.push({ input, message: `Flight ${n}: ${message}` });
      await from.resolve();
      await to.resolve();
      if (!from.value) fail(from.input, from.input.value.trim() ? UNPICKED : 'Pick the airport it leaves from (type a code like SFO or a city).');
      if (!to.value) fail(to.input, to.input.value.trim() ? UNPICKED : 'Pick the airport it lands at (type a code like LHR or a city).');
      if (!dDate.value) fail(dDate, 'give the departure date.');
      if (!dTime.value) fail(dTime, 'give the departure time, as the ticket prints it.');
      if (!aDate.value) fail(aDate, 'give the arrival date.');
      if (!aTime.value) fail(aTime, 'give the arrival time, as the ticket prints it.');
      const fl = flight.value.trim();
      if (fl && !/^([A-Z][A-Z0-9]|[0-9][A-Z]|[A-Z]{3})[0-9]{1,4}[A-Z]?$/.test(fl)) fail(flight, 'a flight number looks like BA286 or UAL901 (or leave it empty).');
      const t = times();
      if (t && t.arr.ms <= t.dep.ms) fail(aTime, 'it must land after it leaves. Times are local to each airport: check the arrival date.');
      else if (t && t.arr.ms - t.dep.ms > 24 * 3600000) fail(aDate, 'a flight lasts at most 24 hours: check the dates.');
      if (problems.length) return { problems, leg: null };
      return {
        problems,
        leg: compact({
          flight: fl || undefined,
          from: from.value.iata, to: to.value.iata,
          from_tz: from.value.tz, to_tz: to.value.tz,
          depart: rfc3339(t.dep.ms, from.value.tz), arrive: rfc3339(t.arr.ms, to.value.tz),
        }),
      };
    },
  };
}
