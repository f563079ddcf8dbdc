// One-tap logging: asleep and awake, naps, meals, daylight, a delayed
// flight; and the recent log with edits and undo. Every entry goes through
// the outbox, so it is kept even when the hub is out of reach.

import { envelope, ageBand, isLittle } from '../events.js';
import { check, clearProblems, field, fill, h, showProblems, toast } from '../dom.js';
import * as outbox from '../outbox.js';
import { loadLog, state } from '../store.js';
import { airports, legPlace } from '../picker.js';
import { clock, dayClock, dayName, deviceZone, duration, place, rfc3339, toMs, wall, zoned } from '../time.js';

const FACTS = new Set(['sleep', 'meal', 'light_exposure']);
const MEALS = { breakfast: 'Breakfast', lunch: 'Lunch', dinner: 'Dinner', snack: 'Snack', feed: 'Feed' };
const LEVEL = { outdoor_daylight: 'Outside in daylight', bright_indoor: 'Bright light', indoor: 'Indoor light', dim: 'Dim light', dark: 'Dark' };

/**
 * The member's log as the hub folded it (newest first), with what waits in
 * the outbox laid over it, marked pending: a new entry shows, a correction
 * or retraction hides what it replaces, and retracting a correction brings
 * back what it corrected, as the hub will once it has them.
 */
export function facts(stored, pending) {
  const all = stored.map((s) => ({ env: s.event, replaces: s.replaces || null, pending: null }));
  const find = (id) => all.find((x) => x.env.id === id);
  const gone = new Set();
  for (const { env, pending: p } of pending) {
    if (env.type === 'log.retracted') {
      const was = find(env.data.event_id);
      gone.add(env.data.event_id);
      if (was?.replaces) {
        gone.delete(was.replaces.id);
        if (!find(was.replaces.id)) all.push({ env: was.replaces, replaces: null, pending: p });
      }
    } else if (FACTS.has(env.type)) {
      const target = env.data?.supersedes ? find(env.data.supersedes) : null;
      if (env.data?.supersedes) gone.add(env.data.supersedes);
      all.push({ env, replaces: target ? target.env : null, pending: p });
    }
  }
  return all.filter(({ env }) => FACTS.has(env.type) && !gone.has(env.id))
    .sort((a, b) => toMs(b.env.start) - toMs(a.env.start));
}

/** The sleep (or nap) that is under way: started, not yet ended. */
export function openSleep(list, nap, now = Date.now()) {
  const limit = (nap ? 6 : 24) * 3600000;
  return list.find(({ env }) => env.type === 'sleep' && !env.end && !!env.data.nap === nap && now - toMs(env.start) < limit) || null;
}

const HOUR = 3600000;

/**
 * What this page sent lately, kept for a minute: the outbox lets go of an
 * entry once the hub has it, a moment before the hub's log is read again.
 * @type {{env: any, at: number}[]}
 */
const sent = [];

function remember(env) {
  const now = Date.now();
  while (sent.length && now - sent[0].at > 60000) sent.shift();
  sent.push({ env, at: now });
}

/** An entry taken back before it was sent was never sent. */
function forget(env) {
  const i = sent.findIndex((x) => x.env.id === env.id);
  if (i >= 0) sent.splice(i, 1);
}

/**
 * The longest sleep and nap that are plausible at an age, in hours: longer
 * ones are a forgotten tap or a typing slip.
 */
const LIMITS = {
  under_6_months: { sleep: 15, nap: 4 },
  '6_to_12_months': { sleep: 15, nap: 4 },
  toddler: { sleep: 15, nap: 3.5 },
  child: { sleep: 14, nap: 3 },
  teen: { sleep: 16, nap: 4 },
  adult: { sleep: 18, nap: 4 },
};

/** The longest plausible sleep (or nap) for a member, in hours. */
export function sleepLimit(member, nap) {
  const l = LIMITS[ageBand(member.data)] || LIMITS.adult;
  return nap ? l.nap : l.sleep;
}

/**
 * A member's usual night as minutes after midnight, [from, to): from the
 * usual bedtime and wake time in their profile; for a baby, whose naps
 * come round the clock, the core of the night (23:00 to 05:00).
 */
export function nightWindow(member) {
  const band = ageBand(member.data);
  if (band === 'under_6_months' || band === '6_to_12_months') return { from: 23 * 60, to: 5 * 60 };
  const m = (t) => (t ? Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5)) : null);
  const from = m(member.data.sleep_time);
  const to = m(member.data.wake_time);
  return from == null || to == null ? null : { from, to };
}

/** Whether a wall time "HH:MM" falls in the member's usual night. */
export function inNight(member, time) {
  const w = nightWindow(member);
  if (!w) return false;
  const t = Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
  return w.from <= w.to ? t >= w.from && t < w.to : t >= w.from || t < w.to;
}

/**
 * Asks, before an odd entry is saved, whether it is what it says: a
 * question with two answers, each of which saves the entry once.
 * @param {{text: string, yes: string, no: string, onyes: () => any, onno: () => any}} o
 */
function question(o) {
  const id = `q-${Date.now()}`;
  let answered = false;
  const answer = (fn) => async () => {
    if (answered) return;
    answered = true;
    box.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    box.removeAttribute('data-keep');
    box.remove();
    await fn();
  };
  const box = h('div', { class: 'card question', role: 'alertdialog', 'aria-labelledby': id, 'data-keep': '' },
    h('p', { id }, o.text),
    h('div', { class: 'row wrap' },
      h('button', { type: 'button', class: 'primary', 'data-answer': 'sleep', onclick: answer(o.onyes) }, o.yes),
      h('button', { type: 'button', class: 'secondary', 'data-answer': 'nap', onclick: answer(o.onno) }, o.no)));
  queueMicrotask(() => box.querySelector('button')?.focus());
  return box;
}

function describe(env) {
  const tz = env.tz;
  const span = env.end ? `${clock(env.start, tz)}–${clock(env.end, tz)}` : `from ${clock(env.start, tz)}`;
  switch (env.type) {
    case 'sleep':
      return `${env.data.nap ? 'Nap' : 'Sleep'} ${span}${env.end ? ` (${duration((toMs(env.end) - toMs(env.start)) / 60000)})` : ', still asleep'}`;
    case 'meal':
      return `${MEALS[env.data.kind] || 'Meal'} at ${clock(env.start, tz)}`;
    case 'light_exposure':
      return `${LEVEL[env.data.level] || `${env.data.lux} lux`} ${span}`;
  }
  return env.type;
}

export async function logView(root, memberId) {
  const members = state.members;
  if (!members.length) {
    fill(root, h('p', {}, 'Add the family first.'));
    return;
  }
  const m = members.find((x) => x.id === memberId) || members[0];
  const name = m.data.display_name;
  const stored = state.logs.get(m.id) || (await loadLog(m.id));
  const waiting = await outbox.list();
  const pending = [];
  const queued = new Set();
  for (const e of waiting) for (const env of e.events) if (env.member_id === m.id) {
    pending.push({ env, pending: e });
    queued.add(env.id);
  }
  // Sent, but the hub's log read here is from before it: lay it over too,
  // or the screen would show (and Undo would act on) the entry as it was.
  const ids = new Set(stored.map((x) => x.event.id));
  for (const x of stored) if (x.event.data?.supersedes) ids.add(x.event.data.supersedes); // replaced: the hub has it
  for (const { env, at } of sent) {
    if (env.member_id !== m.id || queued.has(env.id) || Date.now() - at > 60000) continue;
    // A retraction goes over again (it only hides, or brings back what a
    // correction replaced); an entry the log holds, or holds a correction
    // of, is there already.
    if (env.type === 'log.retracted' || !ids.has(env.id)) pending.push({ env, pending: null });
  }
  const list = facts(stored, pending);
  const fam = state.family.id;
  if (state.trips.some((t) => !t.removed && t.data.legs.some((l) => l.from || l.to))) await airports();

  const send = async (env, label, replaces = null) => {
    remember(env);
    await outbox.add('/api/v1/events', [env], `${name}: ${label}`);
    const entry = (await outbox.list()).find((x) => x.events[0].id === env.id);
    toast(`${name}: ${label}`, { label: 'Undo', run: () => undo({ env, replaces, pending: entry || null }) });
  };
  // Undo steps back one tap: an entry still on the phone is taken back;
  // anything else is retracted, which for a correction (an edit, or an
  // "awake" that closed a sleep) brings back what it corrected.
  const undo = async ({ env, replaces, pending: p }) => {
    if (p && (await outbox.take(p.seq))) {
      forget(env);
      toast(replaces ? `Undone: back to ${describe(replaces)}` : `Undone: ${describe(env)}`);
      return;
    }
    const r = envelope({ family: fam, type: 'log.retracted', member: m.id, data: { event_id: env.id } });
    remember(r);
    await outbox.add('/api/v1/events', [r], `${name}: undo ${describe(env)}`);
    toast(replaces ? `Undone: back to ${describe(replaces)}` : `Undone: ${describe(env)}`);
  };
  const fact = (type, data, start, end) => envelope({ family: fam, type, member: m.id, start, end, data });
  // A tap logs once: a second tap on the same button within a moment (a
  // shaky hand at 3 a.m.) is ignored.
  const once = (fn) => (ev) => {
    const b = ev.currentTarget;
    if (b.disabled) return;
    b.disabled = true;
    setTimeout(() => { b.disabled = false; }, 1500);
    fn();
  };

  // Odd entries get a question first: a nap started in the person's
  // usual night may be the night's sleep.
  const asks = h('div', { class: 'asks' });
  const startNap = () => {
    const now = Date.now();
    const t = wall(now, deviceZone()).time;
    if (!inNight(m, t)) return send(fact('sleep', { nap: true }, now), 'nap started');
    asks.replaceChildren(question({
      text: `It is ${t}, ${name}'s night. Log it as night sleep instead?`,
      yes: 'Log as night sleep', no: 'It was a nap',
      onyes: () => send(fact('sleep', {}, now), 'asleep'),
      onno: () => send(fact('sleep', { nap: true }, now), 'nap started'),
    }));
  };
  const sleepButtons = (nap) => {
    const open = openSleep(list, nap);
    if (open) {
      return h('button', {
        type: 'button', class: 'big primary', 'data-action': nap ? 'nap-end' : 'awake', onclick: once(() => {
          // A sleep lasts at least a minute: the hub wants the end after the start.
          const now = Math.max(Date.now(), toMs(open.env.start) + 60000);
          if (now - toMs(open.env.start) > sleepLimit(m, nap) * HOUR) {
            // Longer than such a sleep can be: a tap was missed. Ask
            // when it ended instead of saving it.
            const form = editRow(open, m, change);
            asks.replaceChildren(form);
            form.querySelector('input[name=end]').value = '';
            form.requestSubmit();
            return;
          }
          const e = fact('sleep', { nap: nap || undefined, supersedes: open.env.id }, toMs(open.env.start), now);
          send(e, nap ? `nap ended (${duration((now - toMs(open.env.start)) / 60000)})` : 'awake', open.env);
        }),
      }, nap ? `Nap ended (since ${clock(open.env.start, open.env.tz)})` : `Awake (asleep since ${clock(open.env.start, open.env.tz)})`);
    }
    return h('button', { type: 'button', class: 'big', 'data-action': nap ? 'nap-start' : 'asleep', onclick: once(() => (nap ? startNap() : send(fact('sleep', {}), 'asleep'))) },
      nap ? 'Nap started' : 'Asleep');
  };
  const change = (env, data, start, end) => {
    const e = envelope({ family: fam, type: env.type, member: m.id, start, end, tz: env.tz, data: { ...data, supersedes: env.id } });
    return send(e, `changed ${describe(env)}`, env);
  };
  const band = ageBand(m.data);
  const mealKinds = band === 'under_6_months' || band === '6_to_12_months' ? ['feed', 'breakfast', 'lunch', 'dinner', 'snack'] : ['breakfast', 'lunch', 'dinner', 'snack', ...(isLittle(band) ? ['feed'] : [])];
  const lightButtons = (level, label) => h('div', { class: 'field' }, h('span', { class: 'label' }, label),
    h('div', { class: 'row wrap' }, [15, 30, 60].map((min) => h('button', {
      type: 'button', 'data-action': `light-${level}-${min}`, onclick: once(() => {
        const now = Date.now();
        send(fact('light_exposure', { level }, now - min * 60000, now), `${LEVEL[level].toLowerCase()}, last ${min} min`);
      }),
    }, `last ${min} min`))));

  const recent = list.filter(({ env }) => Date.now() - toMs(env.start) < 3 * 24 * 3600000).slice(0, 30);
  fill(root,
    h('h1', {}, 'Log'),
    h('nav', { class: 'chips', 'aria-label': 'Whose log' }, members.map((x) => h('a', {
      href: `#/log/${x.id}`, class: x.id === m.id ? 'chip on' : 'chip', 'aria-current': x.id === m.id ? 'page' : null,
    }, x.data.display_name))),
    h('section', { class: 'card stack', 'aria-label': `Log for ${name}` },
      h('div', { class: 'grid2' }, sleepButtons(false), sleepButtons(true)),
      asks,
      h('div', { class: 'field' }, h('span', { class: 'label' }, 'Ate or fed now'),
        h('div', { class: 'row wrap' }, mealKinds.map((k) => h('button', { type: 'button', 'data-action': `meal-${k}`, onclick: once(() => send(fact('meal', { kind: k }), MEALS[k].toLowerCase())) }, MEALS[k])))),
      lightButtons('outdoor_daylight', 'Went outside'),
      lightButtons('bright_indoor', 'Bright light indoors')),
    h('section', { 'aria-labelledby': 'recent-h' }, h('h2', { id: 'recent-h' }, `${name}: last three days`),
      recent.length ? h('ul', { class: 'plain stack' }, recent.map((f) => factRow(f, m, undo, change))) : h('p', { class: 'muted' }, 'Nothing logged yet.')),
    delayForm());
}

function factRow(f, m, undo, change) {
  const { env } = f;
  const row = h('li', { class: 'card row between', 'data-id': env.id },
    h('div', {}, describe(env), ' ', h('small', { class: 'muted' }, dayClock(env.start, env.tz).split(' ').slice(0, 3).join(' ')),
      f.pending ? h('span', { class: 'badge warn' }, ' waiting to send') : null),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'secondary', 'data-action': 'edit', onclick: () => {
        const form = editRow(f, m, change);
        row.replaceWith(form);
        form.querySelector('input')?.focus();
      } }, 'Edit'),
      h('button', { type: 'button', class: 'ghost', 'data-action': 'undo', onclick: () => undo(f) }, 'Undo')));
  return row;
}

/**
 * Changing a fact's times: a correction that supersedes it. Times in the
 * future, an end before the start or a sleep longer than the person's age
 * allows are field errors; a nap moved into their night gets a question.
 */
function editRow(f, m, change) {
  const env = f.env || f;
  const tz = env.tz;
  const mk = (t, name) => {
    const w = t ? wall(toMs(t), tz) : null;
    return h('input', { type: 'datetime-local', name, value: w ? `${w.date}T${w.time}` : '' });
  };
  const start = mk(env.start, 'start');
  const end = env.end || env.type === 'sleep' ? mk(env.end, 'end') : null;
  const error = h('p', { class: 'error', role: 'alert' });
  const ms = (input) => (input.value ? zoned(input.value.slice(0, 10), input.value.slice(11, 16), tz).ms : null);
  const data = { ...env.data };
  delete data.supersedes;
  const asks = h('div', { class: 'asks' });
  const who = m.data.display_name;
  const what = env.type === 'sleep' ? (data.nap ? 'nap' : 'sleep') : env.type === 'meal' ? 'meal' : 'time in the light';
  const form = h('form', { class: 'card stack', 'data-edit': env.id, 'data-keep': '', novalidate: true },
    h('b', {}, `Change: ${describe(env)} (${place(tz)} time)`),
    field('Started', start), end ? field(env.type === 'sleep' ? 'Ended (empty: still asleep)' : 'Ended', end) : null, error, asks,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Save change'),
      h('button', { type: 'button', class: 'ghost', onclick: () => { form.remove(); dispatchEvent(new Event('zoner:refresh')); } }, 'Cancel')));
  let saving = false;
  const save = async (d, s, e) => {
    if (saving) return;
    saving = true;
    form.remove();
    await change(env, d, s, e ?? undefined);
    dispatchEvent(new Event('zoner:refresh'));
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearProblems(form, error);
    asks.replaceChildren();
    const s = ms(start);
    const e = end ? ms(end) : null;
    const now = Date.now() + 60000;
    const problems = [];
    if (s == null) problems.push({ input: start, message: `Give the day and time the ${what} started.` });
    else if (s > now) problems.push({ input: start, message: `${clock(s, tz)} on ${dayName(s, tz)} is still to come: give the time it started.` });
    if (e != null && e > now) problems.push({ input: end, message: `${clock(e, tz)} on ${dayName(e, tz)} is still to come: give the time it ended, or leave it empty.` });
    else if (s != null && e != null && e <= s) problems.push({ input: end, message: `It must end after it starts (${clock(s, tz)}): check the day and time.` });
    else if (s != null && e != null && env.type === 'sleep') {
      const limit = sleepLimit(m, !!data.nap);
      if (e - s > limit * HOUR) problems.push({ input: end, message: `That ${what} lasts ${duration((e - s) / 60000)}; ${who}'s ${what}s last at most ${duration(limit * 60)}. Check the times.` });
    }
    if (s != null && e == null && env.type === 'sleep' && Date.now() - s > sleepLimit(m, !!data.nap) * HOUR) {
      problems.push({ input: end, message: `Started ${duration((Date.now() - s) / 60000)} ago: give the time the ${what} ended.` });
    }
    if (env.type !== 'sleep' && env.type !== 'meal' && e == null) problems.push({ input: end, message: 'Give the time it ended.' });
    try {
      check(problems);
    } catch (err) {
      return showProblems(error, err);
    }
    if (env.type === 'sleep' && data.nap && inNight(m, wall(s, tz).time)) {
      const night = { ...data };
      delete night.nap;
      asks.replaceChildren(question({
        text: `${clock(s, tz)} is in ${who}'s night. Log it as night sleep instead?`,
        yes: 'Log as night sleep', no: 'It was a nap',
        onyes: () => save(night, s, e), onno: () => save(data, s, e),
      }));
      return;
    }
    save(data, s, e);
  });
  return form;
}

/** A delayed flight: the new times, in each airport's local time. */
function delayForm() {
  const trips = state.trips.filter((t) => !t.removed);
  if (!trips.length) return null;
  const legs = [];
  for (const t of trips) t.data.legs.forEach((l, i) => legs.push({ t, l, i }));
  const upcoming = legs.filter(({ l }) => toMs(l.arrive) > Date.now() - 24 * 3600000);
  if (!upcoming.length) return null;
  const pick = h('select', {}, upcoming.map(({ t, l, i }, k) => h('option', { value: k },
    `${l.flight || `Flight ${i + 1}`} ${legPlace(l.from, l.from_tz)} → ${legPlace(l.to, l.to_tz)}, ${dayClock(l.depart, l.from_tz)}${t.data.name ? ` (${t.data.name})` : ''}`)));
  const date = h('input', { type: 'date', required: true });
  const time = h('input', { type: 'time', required: true });
  const aDate = h('input', { type: 'date' });
  const aTime = h('input', { type: 'time' });
  const hint = h('small', { class: 'hint', 'aria-live': 'polite' });
  const sync = () => {
    const { l } = upcoming[Number(pick.value)];
    const d = wall(toMs(l.depart), l.from_tz);
    date.value = d.date;
    time.value = d.time;
    aDate.value = '';
    aTime.value = '';
    hint.textContent = `Departure in ${legPlace(l.from, l.from_tz)} time; arrival (optional) in ${legPlace(l.to, l.to_tz)} time.`;
  };
  pick.addEventListener('change', sync);
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card stack', 'aria-labelledby': 'delay-h', novalidate: true },
    h('h2', { id: 'delay-h' }, 'Flight delayed'),
    field('Which flight', pick),
    h('div', { class: 'row' }, field('New departure date', date), field('time', time)),
    h('div', { class: 'row' }, field('New arrival date', aDate), field('time', aTime)),
    hint, error,
    h('button', { type: 'submit', class: 'primary' }, 'Save the new time'));
  form.addEventListener('input', () => form.setAttribute('data-keep', ''));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearProblems(form, error);
    const { t, l, i } = upcoming[Number(pick.value)];
    const from = legPlace(l.from, l.from_tz);
    const to = legPlace(l.to, l.to_tz);
    const problems = [];
    if (!date.value) problems.push({ input: date, message: `Give the new departure date (${from} time).` });
    if (!time.value) problems.push({ input: time, message: `Give the new departure time (${from} time).` });
    if (aDate.value && !aTime.value) problems.push({ input: aTime, message: `Give the new arrival time too (${to} time), or clear the arrival date.` });
    if (aTime.value && !aDate.value) problems.push({ input: aDate, message: `Give the new arrival date too (${to} time), or clear the arrival time.` });
    const dep = date.value && time.value ? zoned(date.value, time.value, l.from_tz).ms : null;
    const arr = aDate.value && aTime.value ? zoned(aDate.value, aTime.value, l.to_tz).ms : null;
    if (dep != null && arr != null) {
      if (arr <= dep) problems.push({ input: aTime, message: `The new arrival must be after the new departure. Times are local to each airport: check the date.` });
      else if (arr - dep > 24 * HOUR) problems.push({ input: aDate, message: 'A flight lasts at most 24 hours: check the dates.' });
    }
    try {
      check(problems);
    } catch (err) {
      return showProblems(error, err);
    }
    const data = { trip_id: t.id, leg: i + 1, status: 'delayed', depart: rfc3339(dep, l.from_tz) };
    if (l.flight) data.flight = l.flight;
    if (arr != null) data.arrive = rfc3339(arr, l.to_tz);
    await outbox.add('/api/v1/events', [envelope({ family: state.family.id, type: 'flight.updated', tz: deviceZone(), data })],
      `${l.flight || 'Flight'} delayed to ${dayClock(dep, l.from_tz)}`);
    toast(`${l.flight || 'Flight'} now leaves ${dayClock(dep, l.from_tz)} ${from} time; making a new plan`);
    form.removeAttribute('data-keep');
    dispatchEvent(new Event('zoner:refresh'));
  });
  sync();
  return form;
}
