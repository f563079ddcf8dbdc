// One-tap logging: asleep and awake, naps, meals, daylight, a delayed
// flight; and the recent log with edits and undo. Every entry goes through
// the outbox, so it is kept even when the hub is out of reach.

import { envelope, ageBand, isLittle } from '../events.js';
import { h, fill, toast, field } from '../dom.js';
import * as outbox from '../outbox.js';
import { loadLog, state } from '../store.js';
import { clock, dayClock, deviceZone, duration, place, rfc3339, toMs, wall, zoned } from '../time.js';

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
  for (const e of waiting) for (const env of e.events) if (env.member_id === m.id) pending.push({ env, pending: e });
  const list = facts(stored, pending);
  const fam = state.family.id;

  const send = async (env, label) => {
    await outbox.add('/api/v1/events', [env], `${name}: ${label}`);
    const entry = (await outbox.list()).find((x) => x.events[0].id === env.id);
    toast(`${name}: ${label}`, { label: 'Undo', run: () => undo({ env, pending: entry || null }) });
  };
  // Undo steps back one tap: an entry still on the phone is taken back;
  // anything else is retracted, which for a correction (an edit, or an
  // "awake" that closed a sleep) brings back what it corrected.
  const undo = async ({ env, replaces, pending: p }) => {
    if (p && (await outbox.take(p.seq))) {
      toast(`Undone: ${describe(env)}`);
      return;
    }
    await outbox.add('/api/v1/events', [envelope({ family: fam, type: 'log.retracted', member: m.id, data: { event_id: env.id } })], `${name}: undo ${describe(env)}`);
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

  const sleepButtons = (nap) => {
    const open = openSleep(list, nap);
    if (open) {
      return h('button', {
        type: 'button', class: 'big primary', 'data-action': nap ? 'nap-end' : 'awake', onclick: once(() => {
          // A sleep lasts at least a minute: the hub wants the end after the start.
          const now = Math.max(Date.now(), toMs(open.env.start) + 60000);
          const e = fact('sleep', { nap: nap || undefined, supersedes: open.env.id }, toMs(open.env.start), now);
          send(e, nap ? `nap ended (${duration((now - toMs(open.env.start)) / 60000)})` : 'awake');
        }),
      }, nap ? `Nap ended (since ${clock(open.env.start, open.env.tz)})` : `Awake (asleep since ${clock(open.env.start, open.env.tz)})`);
    }
    return h('button', { type: 'button', class: 'big', 'data-action': nap ? 'nap-start' : 'asleep', onclick: once(() => send(fact('sleep', nap ? { nap: true } : {}), nap ? 'nap started' : 'asleep')) },
      nap ? 'Nap started' : 'Asleep');
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
      h('div', { class: 'field' }, h('span', { class: 'label' }, 'Ate or fed now'),
        h('div', { class: 'row wrap' }, mealKinds.map((k) => h('button', { type: 'button', 'data-action': `meal-${k}`, onclick: once(() => send(fact('meal', { kind: k }), MEALS[k].toLowerCase())) }, MEALS[k])))),
      lightButtons('outdoor_daylight', 'Went outside'),
      lightButtons('bright_indoor', 'Bright light indoors')),
    h('section', { 'aria-labelledby': 'recent-h' }, h('h2', { id: 'recent-h' }, `${name}: last three days`),
      recent.length ? h('ul', { class: 'plain stack' }, recent.map((f) => factRow(f, undo, (env, data, start, end) => {
        const e = envelope({ family: fam, type: env.type, member: m.id, start, end, tz: env.tz, data: { ...data, supersedes: env.id } });
        return send(e, `changed ${describe(env)}`);
      }))) : h('p', { class: 'muted' }, 'Nothing logged yet.')),
    delayForm());
}

function factRow(f, undo, change) {
  const { env } = f;
  const row = h('li', { class: 'card row between', 'data-id': env.id },
    h('div', {}, describe(env), ' ', h('small', { class: 'muted' }, dayClock(env.start, env.tz).split(' ').slice(0, 3).join(' ')),
      f.pending ? h('span', { class: 'badge warn' }, ' waiting to send') : null),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'secondary', 'data-action': 'edit', onclick: () => row.replaceWith(editRow(f, change)) }, 'Edit'),
      h('button', { type: 'button', class: 'ghost', 'data-action': 'undo', onclick: () => undo(f) }, 'Undo')));
  return row;
}

/** Changing a fact's times: a correction that supersedes it. */
function editRow(f, change) {
  const { env } = f;
  const tz = env.tz;
  const mk = (t) => {
    const w = wall(toMs(t), tz);
    return h('input', { type: 'datetime-local', value: `${w.date}T${w.time}` });
  };
  const start = mk(env.start);
  start.name = 'start';
  const end = env.end ? mk(env.end) : (env.type === 'sleep' ? h('input', { type: 'datetime-local' }) : null);
  if (end) end.name = 'end';
  const error = h('p', { class: 'error', role: 'alert' });
  const ms = (input) => (input.value ? zoned(input.value.slice(0, 10), input.value.slice(11, 16), tz).ms : null);
  const data = { ...env.data };
  delete data.supersedes;
  const form = h('form', { class: 'card stack', 'data-edit': env.id, 'data-keep': '' },
    h('b', {}, `Change: ${describe(env)} (${place(tz)} time)`),
    field('Started', start), end ? field('Ended', end) : null, error,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Save change'),
      h('button', { type: 'button', class: 'ghost', onclick: () => { form.remove(); dispatchEvent(new Event('zoner:refresh')); } }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const s = ms(start);
    const e = end ? ms(end) : null;
    if (s == null) return void (error.textContent = 'Give a start time.');
    if (e != null && e <= s) return void (error.textContent = 'It must end after it starts.');
    form.remove();
    await change(env, data, s, e ?? undefined);
    dispatchEvent(new Event('zoner:refresh'));
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
    `${l.flight || `Flight ${i + 1}`} ${l.from || place(l.from_tz)} → ${l.to || place(l.to_tz)}, ${dayClock(l.depart, l.from_tz)}${t.data.name ? ` (${t.data.name})` : ''}`)));
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
    hint.textContent = `Departure in ${place(l.from_tz)} time; arrival (optional) in ${place(l.to_tz)} time.`;
  };
  pick.addEventListener('change', sync);
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card stack', 'aria-labelledby': 'delay-h' },
    h('h2', { id: 'delay-h' }, 'Flight delayed'),
    field('Which flight', pick),
    h('div', { class: 'row' }, field('New departure date', date), field('time', time)),
    h('div', { class: 'row' }, field('New arrival date', aDate), field('time', aTime)),
    hint, error,
    h('button', { type: 'submit', class: 'primary' }, 'Save the new time'));
  form.addEventListener('input', () => form.setAttribute('data-keep', ''));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const { t, l, i } = upcoming[Number(pick.value)];
    const dep = zoned(date.value, time.value, l.from_tz).ms;
    const data = { trip_id: t.id, leg: i + 1, status: 'delayed', depart: rfc3339(dep, l.from_tz) };
    if (l.flight) data.flight = l.flight;
    if (aDate.value && aTime.value) {
      const arr = zoned(aDate.value, aTime.value, l.to_tz).ms;
      if (arr <= dep) return void (error.textContent = 'The new arrival must be after the new departure.');
      if (arr - dep > 24 * 3600000) return void (error.textContent = 'A flight lasts at most 24 hours; check the dates.');
      data.arrive = rfc3339(arr, l.to_tz);
    }
    await outbox.add('/api/v1/events', [envelope({ family: state.family.id, type: 'flight.updated', tz: deviceZone(), data })],
      `${l.flight || 'Flight'} delayed to ${dayClock(dep, l.from_tz)}`);
    toast(`${l.flight || 'Flight'} now leaves ${dayClock(dep, l.from_tz)} ${place(l.from_tz)} time; re-planning`);
    form.removeAttribute('data-keep');
    dispatchEvent(new Event('zoner:refresh'));
  });
  sync();
  return form;
}
