// Today: a card per person with what their log says they are doing, what
// to do now and what comes next (with a live countdown), in the zone they
// are in, named. When the log and the plan disagree, the card says so and
// says what to do.

import { KIND_ICON, nextLine, nowLine } from '../advice.js';
import { ageBand, envelope } from '../events.js';
import { h, fill, toast } from '../dom.js';
import * as outbox from '../outbox.js';
import { state } from '../store.js';
import { clock, dayName, duration, toMs, wall, zoneLabel } from '../time.js';

const MINUTE = 60000;
/** Open sleeps and naps older than this are taken as left open by mistake. */
const OPEN_MAX = { sleep: 24 * 60 * MINUTE, nap: 6 * 60 * MINUTE };

export async function todayView(root) {
  const t = state.today;
  if (!t) {
    fill(root, h('p', { class: 'muted' }, 'Loading…'));
    return;
  }
  let waiting = [];
  try {
    waiting = await outbox.list();
  } catch {
    // Storage unavailable: the hub's word alone.
  }
  const now = Date.now();
  const activeTrip = state.trips.find((x) => !x.removed);
  const cards = t.members.map((m) => card(m, loggedState(m, waiting, now), now));
  fill(root,
    h('h1', { class: 'sr-only' }, 'Today'),
    state.members.length === 0 ? h('p', {}, 'No one in the family yet. ', h('a', { href: '#/family/new' }, 'Add a person')) : null,
    !activeTrip && state.members.length ? h('p', { class: 'card' }, 'No trip yet. ', h('a', { href: '#/trips/new' }, 'Plan a trip'), ' and each person gets a plan.') : null,
    h('div', { class: 'cards' }, cards));
  startTicker();
}

/** One person's card, for the moment now (ms), with st what their log says. */
export function card(m, st, now) {
  const tz = m.tz;
  const name = m.name;
  const sit = situation(m, st, now);
  // The plan's sleep or nap is told with the logged state when there is
  // one, so that the card never says two things about sleep.
  const doing = m.now.filter((it) => toMs(it.end) > now && !(sit.coversSleep && (it.kind === 'sleep' || it.kind === 'nap')));
  const upcoming = m.next.filter((it) => toMs(it.start) > now);
  return h('article', { class: 'card now', 'aria-labelledby': `now-${m.member_id}`, 'data-member': m.member_id },
    h('header', { class: 'row between' },
      h('h2', { id: `now-${m.member_id}` }, name),
      h('span', { class: 'where', 'data-clock': tz }, `${clock(now, tz)} ${zoneLabel(tz)}`)),
    m.day ? h('p', { class: 'muted' }, `${m.day.label} · ${dayName(now, tz)}`) : null,
    sit.block,
    countdownLine(m, now),
    doing.length
      ? h('ul', { class: 'plain doing' }, doing.map((it) => h('li', { class: `item big ${it.kind}` },
        h('span', { class: 'icon', 'aria-hidden': 'true' }, KIND_ICON[it.kind] || '•'),
        h('div', {}, h('b', {}, nowLine(it, now)), h('small', { class: 'why' }, it.reason)))))
      : m.note ? h('p', { class: 'quiet' }, noteText(m.note, tz))
        : sit.block ? null : h('p', { class: 'quiet' }, 'Nothing special right now: live on local time.'),
    upcoming.length ? h('div', {}, h('h3', {}, 'Next'), h('ul', { class: 'plain next' }, upcoming.map((it) => h('li', { class: `item ${it.kind}` },
      h('span', { class: 'icon', 'aria-hidden': 'true' }, KIND_ICON[it.kind] || '•'), nextLine(it))))) : null,
    cloudLine(m, tz),
    h('div', { class: 'row wrap' },
      sit.action ? quickButton(m, st, sit.action) : null,
      h('a', { class: 'button secondary', href: `#/log/${m.member_id}` }, `Log for ${name}`)));
}

/** The hub's note with its RFC 3339 time said as a person would. */
function noteText(note, tz) {
  return note.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)/, (iso) => `${dayName(iso, tz)} at ${clock(iso, tz)} ${zoneLabel(tz)}`);
}

/**
 * What the log says the person is doing: the hub's answer, with what waits
 * on this phone laid over it (a nap started or ended here, not yet at the
 * hub). {kind: 'asleep'|'napping'|'awake', since, event_id} or null.
 */
export function loggedState(m, waiting, now = Date.now()) {
  let st = m.state || null;
  let latest = null;
  for (const e of waiting) {
    for (const env of e.events) {
      if (env.type !== 'sleep' || env.member_id !== m.member_id || toMs(env.start) > now) continue;
      if (!env.end && now - toMs(env.start) > OPEN_MAX[env.data?.nap ? 'nap' : 'sleep']) continue;
      if (!latest || toMs(env.start) >= toMs(latest.start)) latest = env;
    }
  }
  if (!latest) return st;
  const closes = st && st.event_id && latest.data?.supersedes === st.event_id;
  if (st && !closes && toMs(latest.start) < toMs(st.since) && st.kind !== 'awake') return st;
  if (!latest.end || toMs(latest.end) > now) {
    st = { kind: latest.data?.nap ? 'napping' : 'asleep', since: latest.start, event_id: latest.id };
  } else if (!st || st.kind !== 'awake' || closes || toMs(latest.end) > toMs(st.since)) {
    st = { kind: 'awake', since: latest.end };
  }
  return st;
}

/** "06:10", "yesterday 21:40" or "Tue 1 Dec 21:40", in the zone. */
function when(t, tz, now) {
  const day = wall(toMs(t), tz).date;
  if (day === wall(now, tz).date) return clock(t, tz);
  if (day === wall(now - 24 * 60 * MINUTE, tz).date) return `yesterday ${clock(t, tz)}`;
  if (day === wall(now + 24 * 60 * MINUTE, tz).date) return `tomorrow ${clock(t, tz)}`;
  return `${dayName(t, tz)} ${clock(t, tz)}`;
}

/** How long a sleep or nap may go on before the plan's night suffers. */
function napCap(m) {
  const member = state.members.find((x) => x.id === m.member_id);
  const band = ageBand(member?.data);
  if (band === 'under_6_months') return Infinity;
  if (band === '6_to_12_months' || band === 'toddler') return 2 * 60 * MINUTE;
  return 30 * MINUTE;
}

/**
 * The logged state set against the plan: {block, action, coversSleep}.
 * block is what the card says about sleep; action the quick log button;
 * coversSleep whether block already tells the plan's sleep or nap.
 */
function situation(m, st, now) {
  const tz = m.tz;
  const name = m.name;
  const planSleep = m.now.find((it) => (it.kind === 'sleep' || it.kind === 'nap') && toMs(it.start) <= now && toMs(it.end) > now);
  const night = m.next.find((it) => it.kind === 'sleep' && toMs(it.start) > now);
  if (!st) return { block: null, action: null, coversSleep: false };
  const since = toMs(st.since);
  const head = (text) => h('p', { class: `state ${st.kind}`, 'data-state': st.kind },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, st.kind === 'awake' ? '☀️' : '💤'),
    h('b', { 'data-since': st.since, 'data-label': text, 'data-tz': tz }, stateText(text, st, tz, now)));
  const advice = (text, mismatch) => h('p', { class: mismatch ? 'advice mismatch' : 'advice' }, mismatch ? h('b', {}, 'Not as planned: ') : null, text);

  if (st.kind === 'napping' || st.kind === 'asleep') {
    const label = st.kind === 'napping' ? 'Napping' : 'Asleep';
    const action = st.kind === 'napping' ? 'nap-end' : 'awake';
    if (planSleep) {
      const end = when(planSleep.end, tz, now);
      const text = planSleep.kind === 'sleep'
        ? `Let ${name} sleep; planned wake ${end} ${zoneLabel(tz)}.`
        : `Let ${name} sleep; the nap is planned to end by ${end} ${zoneLabel(tz)}.`;
      return { block: h('div', { class: 'logged' }, head(label), advice(text, false)), action, coversSleep: true };
    }
    if (night && toMs(night.start) - now <= 60 * MINUTE) {
      return { block: h('div', { class: 'logged' }, head(label), advice(`A little before the planned bedtime (${clock(night.start, tz)} ${zoneLabel(tz)}): let ${name} sleep.`, false)), action, coversSleep: true };
    }
    if (!m.day) return { block: h('div', { class: 'logged' }, head(label)), action, coversSleep: true };
    const cap = napCap(m);
    if (cap === Infinity) {
      return { block: h('div', { class: 'logged' }, head(label), advice(`The plan had ${name} awake now, but babies this young sleep when tired: let ${name} sleep.`, true)), action, coversSleep: true };
    }
    // Wake by the end of a nap as long as the plan allows, and before
    // the plan's next nap, or 4 h before its bedtime.
    const nap = m.next.find((it) => it.kind === 'nap' && toMs(it.start) > now);
    let by = since + cap;
    let text = `The plan had ${name} awake now.`;
    if (nap) {
      by = Math.min(by, toMs(nap.start));
      text = `The plan had ${name} awake now, and napping at ${clock(nap.start, tz)}.`;
    } else if (night) {
      by = Math.min(by, toMs(night.start) - 4 * 60 * MINUTE);
      text = `The plan had ${name} awake now, with bed at ${clock(night.start, tz)}.`;
    }
    by = Math.floor(by / (5 * MINUTE)) * 5 * MINUTE;
    text += by <= now
      ? ` Wake ${name} now to protect ${nap ? 'the next nap' : "tonight's sleep"}.`
      : ` Keep this ${st.kind === 'napping' ? 'nap' : 'sleep'} short: wake ${name} by ${when(by, tz, now)} ${zoneLabel(tz)} to protect ${nap ? 'the next nap' : "tonight's sleep"}.`;
    return { block: h('div', { class: 'logged' }, head(label), advice(text, true)), action, coversSleep: true };
  }
  // Awake.
  if (planSleep?.kind === 'sleep') {
    return {
      block: h('div', { class: 'logged' }, head('Awake'),
        advice(`The plan has ${name} asleep until ${when(planSleep.end, tz, now)} ${zoneLabel(tz)}: keep the room dark and quiet, and try to settle back to sleep.`, true)),
      action: 'asleep', coversSleep: true,
    };
  }
  if (planSleep?.kind === 'nap') {
    return {
      block: h('div', { class: 'logged' }, head('Awake'),
        advice(`Nap time: the plan has a nap until ${clock(planSleep.end, tz)} ${zoneLabel(tz)}.`, false)),
      action: 'nap-start', coversSleep: true,
    };
  }
  return { block: h('div', { class: 'logged' }, head('Awake')), action: null, coversSleep: false };
}

/** "Napping since 00:15 (35 min)". */
function stateText(label, st, tz, now) {
  const since = toMs(st.since);
  const mins = Math.max(0, Math.floor((now - since) / MINUTE));
  return `${label} since ${when(st.since, tz, now)}${mins >= 1 && mins < 24 * 60 ? ` (${duration(mins)})` : ''}`;
}

const QUICK = {
  awake: 'Awake',
  'nap-end': 'Nap ended',
  asleep: 'Asleep',
  'nap-start': 'Nap started',
};

function quickButton(m, st, action) {
  return h('button', {
    type: 'button', class: 'primary', 'data-action': action, 'aria-label': `${QUICK[action]}: log it for ${m.name}`,
    onclick: (ev) => {
      const b = ev.currentTarget;
      if (b.disabled) return;
      b.disabled = true; // a tap logs once
      quick(m, st, action).catch((err) => {
        b.disabled = false;
        toast(`Not logged: ${err.message || err}. Try again from the Log screen.`);
      });
    },
  }, QUICK[action]);
}

/** Logs what the quick button says, through the outbox, with an Undo. */
async function quick(m, st, action) {
  const family = state.family.id;
  const member = m.member_id;
  const now = Date.now();
  let env;
  let label;
  if (action === 'awake' || action === 'nap-end') {
    const start = toMs(st.since);
    // A sleep lasts at least a minute: the hub wants the end after the start.
    const end = Math.max(now, start + MINUTE);
    const data = { supersedes: st.event_id };
    if (st.kind === 'napping') data.nap = true;
    env = envelope({ family, type: 'sleep', member, start, end, data });
    label = st.kind === 'napping' ? `nap ended (${duration((end - start) / MINUTE)})` : 'awake';
  } else {
    env = envelope({ family, type: 'sleep', member, data: action === 'nap-start' ? { nap: true } : {} });
    label = action === 'nap-start' ? 'nap started' : 'asleep';
  }
  await outbox.add('/api/v1/events', [env], `${m.name}: ${label}`);
  const entry = (await outbox.list()).find((x) => x.events[0].id === env.id);
  toast(`${m.name}: ${label}`, {
    label: 'Undo',
    run: async () => {
      if (entry && (await outbox.take(entry.seq))) {
        toast(`Undone: ${m.name} ${label}`);
      } else {
        await outbox.add('/api/v1/events', [envelope({ family, type: 'log.retracted', member, data: { event_id: env.id } })], `${m.name}: undo ${label}`);
        toast(`Undone: ${m.name} ${label}`);
      }
      dispatchEvent(new Event('zoner:refresh'));
    },
  });
  dispatchEvent(new Event('zoner:refresh'));
}

/** The next item that has not started, of the person's next few. */
function nextAction(m, now) {
  return m.next.find((it) => toMs(it.start) > now) || null;
}

/** A short name for what comes: "Nap", "Bedtime", "Breakfast". */
function actionName(it) {
  switch (it.kind) {
    case 'nap': return 'Nap';
    case 'sleep': return it.in_flight ? 'Sleep on the plane' : 'Bedtime';
    case 'light_seek': return 'Time for light';
    case 'light_avoid': return 'Time to avoid bright light';
    case 'melatonin': return 'Melatonin';
    case 'caffeine_cutoff': return 'Last coffee or tea';
    case 'caffeine_ok': return 'Coffee or tea';
    case 'meal': {
      const word = /^(Breakfast|Lunch|Dinner|Snack|Feed)/i.exec(it.text);
      return word ? word[1][0].toUpperCase() + word[1].slice(1).toLowerCase() : 'Meal';
    }
    default: return it.text.split(/[,(]/)[0].trim();
  }
}

/** "Nap in 1 h 20 min (12:45 London time)". */
export function countdownText(m, now = Date.now()) {
  const it = nextAction(m, now);
  if (!it) return '';
  const mins = Math.ceil((toMs(it.start) - now) / MINUTE);
  const tz = it.tz || m.tz;
  const at = `${when(it.start, tz, now)} ${zoneLabel(tz)}`;
  return `${actionName(it)} in ${duration(mins)} (${at})`;
}

function countdownLine(m, now) {
  const text = countdownText(m, now);
  if (!text) return null;
  return h('p', { class: 'countdown', 'data-countdown': m.member_id }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '⏱'), h('span', { class: 'count-text' }, text));
}

let ticker = 0;

/**
 * Brings the live parts of the cards up to the minute: the countdowns,
 * how long a sleep has lasted, the clock in each zone. It runs on each
 * minute's turn while Today is on screen, from the answer already held:
 * nothing is asked of the hub.
 */
export function tick(now = Date.now()) {
  const t = state.today;
  const cards = document.querySelectorAll('article.now[data-member]');
  if (!t || !cards.length) return false;
  for (const el of cards) {
    const m = t.members.find((x) => x.member_id === el.dataset.member);
    if (!m) continue;
    const c = el.querySelector('[data-countdown] .count-text');
    if (c) c.textContent = countdownText(m, now) || 'Nothing more planned for now.';
    const s = el.querySelector('[data-since]');
    if (s) s.textContent = stateText(s.dataset.label, { since: s.dataset.since }, s.dataset.tz, now);
    const w = el.querySelector('[data-clock]');
    if (w) w.textContent = `${clock(now, w.dataset.clock)} ${zoneLabel(w.dataset.clock)}`;
  }
  return true;
}

function startTicker() {
  clearTimeout(ticker);
  const next = () => {
    ticker = setTimeout(() => {
      if (tick()) next();
    }, MINUTE - (Date.now() % MINUTE) + 50);
  };
  next();
}

/** Whether the advice shown took the cloud's news into account. */
function cloudLine(m, tz) {
  if (!m.cloud) return null;
  const at = clock(m.cloud.at, tz);
  return m.cloud.ahead
    ? h('p', { class: 'muted cloud' }, `Using the cloud's plan from ${at} ${zoneLabel(tz)}: it has news that has not reached this hub yet.`)
    : h('p', { class: 'muted cloud' }, `Includes everything the cloud knew at ${at} ${zoneLabel(tz)}.`);
}
