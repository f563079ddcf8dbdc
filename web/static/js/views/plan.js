// A trip's plans read for people: the travellers in the trip's order, the
// plan's days grouped by date, each item as one compact row whose reason
// opens on a tap, the adaptation in plain words with the airports'
// cities, and one person's whole trip day by day.

import { KIND_ICON } from '../advice.js';
import { COLORS, DASHES, hoursText } from '../chart.js';
import { h, fill } from '../dom.js';
import { airports } from '../picker.js';
import { loadPlans, state } from '../store.js';
import { clock, dayClock, dayName, deviceZone, place, toMs, wall } from '../time.js';

/**
 * Everything the trip's screens draw from.
 * @returns {Promise<null|{trip: any, people: any[], groups: any[], cityOf: (tz: string, at?: any) => string}>}
 */
export async function tripModel(id) {
  const trip = state.trips.find((t) => t.id === id);
  if (!trip || trip.removed) return null;
  const stored = state.plans.get(id) || (await loadPlans(id)) || [];
  const d = trip.data;
  const cityOf = await cities(d.legs || []);
  const order = new Map((d.travellers || []).map((m, i) => [m, i]));
  const plans = [...stored].sort((a, b) => (order.get(a.member_id) ?? 99) - (order.get(b.member_id) ?? 99));
  const people = plans.map((sp, i) => {
    const m = state.members.find((x) => x.id === sp.member_id);
    const plan = sp.plan || null;
    const days = [...(plan?.days || [])].sort((a, b) => toMs(a.start) - toMs(b.start));
    return {
      id: sp.member_id, sp, plan, days, name: m?.data.display_name || plan?.name || 'Someone',
      color: COLORS[i % COLORS.length], dash: DASHES[i % DASHES.length], modelled: !!plan?.modelled,
    };
  });
  // The dates of the plan, each with every traveller's day (or days: a
  // flight west lands on the date it left) on it.
  const byDate = new Map();
  for (const p of people) {
    for (const day of p.days) {
      let g = byDate.get(day.date);
      if (!g) byDate.set(day.date, (g = { date: day.date, start: toMs(day.start), end: toMs(day.end), past: true, of: new Map() }));
      g.start = Math.min(g.start, toMs(day.start));
      g.end = Math.max(g.end, toMs(day.end));
      g.past &&= !!day.past;
      if (!g.of.has(p.id)) g.of.set(p.id, []);
      g.of.get(p.id).push(day);
    }
  }
  const groups = [...byDate.values()].sort((a, b) => a.date.localeCompare(b.date));
  return { trip, people, groups, cityOf };
}

/** Which of the plan's dates holds the instant now: -1 before, groups.length after. */
export function todayIndex(groups, now = Date.now()) {
  if (!groups.length) return -1;
  if (now < groups[0].start) return -1;
  const i = groups.findIndex((g) => now >= g.start && now < g.end);
  if (i >= 0) return i;
  const next = groups.findIndex((g) => g.start > now);
  return next < 0 ? groups.length : next;
}

/**
 * The city people call a zone by on this trip: the airport's city for a
 * zone a flight lands in or leaves from (San Francisco, not Los Angeles),
 * else the zone's own place name.
 */
async function cities(legs) {
  let table = [];
  try {
    table = await airports();
  } catch {
    // Without the airport table the zones' names stand in.
  }
  const codes = new Map();
  for (const a of table) codes.set(a.iata, a.city || a.name);
  const city = (code, tz) => (code && codes.get(code.toUpperCase())) || place(tz);
  return (tz, at) => {
    // The flight that landed in the zone last before `at`, else the first
    // that lands there, else one that leaves from it.
    const landed = legs.filter((l) => l.to_tz === tz);
    const before = at ? landed.filter((l) => toMs(l.arrive) <= toMs(at) + 60000) : [];
    const leg = before.at(-1) || landed[0];
    if (leg) return city(leg.to, tz);
    const left = legs.find((l) => l.from_tz === tz);
    return left ? city(left.from, tz) : place(tz);
  };
}

/** "Fri 11 Dec" for a plan date "2026-12-11". */
export function dateName(date) {
  return dayName(`${date}T12:00:00Z`, 'UTC');
}

function addDays(date, n) {
  const t = new Date(`${date}T12:00:00Z`);
  t.setUTCDate(t.getUTCDate() + n);
  return t.toISOString().slice(0, 10);
}

/** A day's label with the airport's city: "Arrival in San Francisco (SFO)". */
export function dayLabel(day, cityOf) {
  const label = day.label || '';
  const zone = place(day.tz);
  const city = cityOf(day.tz, day.start);
  return zone && city && city !== zone ? label.replaceAll(zone, city) : label;
}

/** A few words per kind, for when the item's own text is too long for a row. */
const SHORT = {
  sleep: (it) => (it.in_flight ? 'Sleep on the plane' : 'Sleep'),
  nap: () => 'Nap',
  light_seek: (it) => (it.outdoors ? 'Daylight outside' : 'Bright light'),
  light_avoid: (it) => (it.in_flight ? 'Shade down, screens dim' : 'Avoid bright light'),
  caffeine_ok: () => 'Coffee or tea fine',
  caffeine_cutoff: () => 'No more caffeine',
};

/** The item's text without the times the row already shows, in a few words. */
export function shortText(it) {
  let t = it.text || '';
  const zoneTime = String.raw`(?:\s+(?:[A-Z][\w'.-]*\s+){1,4}time)?`;
  t = t.replace(/\s*\((?:about|around)[^)]*\)/g, '');
  t = t.replace(new RegExp(String.raw`,?\s*(?:(?:about|around|from)\s+)?\d{1,2}:\d{2}\s*[–-]\s*\d{1,2}:\d{2}` + zoneTime, 'g'), '');
  t = t.replace(new RegExp(String.raw`\s+(?:at|around|from)\s+\d{1,2}:\d{2}` + zoneTime, 'g'), '');
  const colon = t.indexOf(':');
  if (colon > 0 && !/\d$/.test(t.slice(0, colon))) t = t.slice(0, colon);
  t = t.replace(/[\s,;:.]+$/, '').replace(/\s+,/g, ',').trim();
  if ((t.length > 24 || /\d:\d\d/.test(t)) && SHORT[it.kind]) t = SHORT[it.kind](it);
  return t || it.text || '';
}

/**
 * One item as one compact row: time, icon and a few words; the whole
 * advice and its reason open on a tap.
 */
export function itemRow(it, dayTz, now = Date.now()) {
  const start = clock(it.start, it.tz);
  const end = clock(it.end, it.tz);
  const when = start === end ? start : `${start}–${end}`;
  const elsewhere = it.tz !== dayTz ? ` (${place(it.tz)} time)` : '';
  const done = toMs(it.end) < now;
  return h('li', { class: `pi ${it.kind}${done ? ' done' : ''}` },
    h('details', {},
      h('summary', {},
        h('span', { class: 'pt' }, when),
        h('span', { class: 'pico', 'aria-hidden': 'true' }, KIND_ICON[it.kind] || '•'),
        h('span', { class: 'px' }, shortText(it), elsewhere ? h('small', { class: 'muted' }, elsewhere) : null)),
      h('p', { class: 'why' }, it.text, it.reason ? h('span', { class: 'block' }, `Why: ${it.reason}`) : null)));
}

/** The items of a person's day (or two days on one date) as rows. */
export function itemRows(days, now) {
  const items = days.flatMap((d) => d.items.map((it) => [it, d.tz]));
  if (!items.length) return h('p', { class: 'muted small' }, 'Nothing planned.');
  return h('ul', { class: 'plain pitems' }, items.map(([it, tz]) => itemRow(it, tz, now)));
}

/** Hours of jet lag a person has on a date: the last figure of the date. */
export function jetLag(days) {
  const known = (days || []).filter((d) => d.misalignment_h != null);
  return known.length ? Math.abs(known.at(-1).misalignment_h) : null;
}

function plural(n, one) {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

/**
 * The adaptation in plain words: "About 5 days to get used to London time
 * (by Fri 11 Dec); back home, about 4 days."
 */
export function adaptation(p, model) {
  if (p.sp.error) return `No plan: ${p.sp.error}`;
  const plan = p.plan;
  if (!plan) return 'The plan is being made…';
  if (!plan.modelled) {
    return 'Not modelled (babies under six months): sleep follows feeds and wake windows. Keep days bright and nights dark, on local time.';
  }
  const legs = model.trip.data.legs || [];
  const homeTz = state.family?.home_tz || legs[0]?.from_tz;
  const stops = plan.adaptation || [];
  const lastDay = p.days.at(-1);
  const parts = stops.map((a, i) => {
    const city = model.cityOf(a.tz, a.arrive);
    const landed = wall(toMs(a.arrive), a.tz).date;
    // After the first stop the place is named short: "back home" or "in Paris".
    const lead = i === 0 ? '' : a.tz === homeTz ? 'back home, ' : `in ${city}, `;
    if (a.days === 0) return i === 0 ? `in step with ${city} time from the day of landing` : `${lead}in step from the day of landing`;
    if (a.days > 0) {
      return i === 0
        ? `about ${plural(a.days, 'day')} to get used to ${city} time (by ${dateName(addDays(landed, a.days))})`
        : `${lead}about ${plural(a.days, 'day')}`;
    }
    if (i < stops.length - 1) {
      const leaves = legs.find((l) => toMs(l.depart) > toMs(a.arrive));
      return `${lead}still adjusting to ${city} time when leaving${leaves ? ` on ${dayName(leaves.depart, leaves.from_tz)}` : ''}`;
    }
    const more = moreDays(p.days.filter((d) => d.tz === a.tz));
    return `${lead}still adjusting to ${city} time when the plan ends${lastDay ? ` on ${dateName(lastDay.date)}` : ''}; expect about ${plural(more, 'more day')}`;
  });
  if (!parts.length) return 'No time zone change: nothing to get used to.';
  const text = parts.join('; ');
  return text[0].toUpperCase() + text.slice(1) + '.';
}

/** Days still to go at the plan's end, at the pace of its last days. */
function moreDays(days) {
  const v = days.filter((d) => d.misalignment_h != null).map((d) => Math.abs(d.misalignment_h));
  const left = (v.at(-1) ?? 2) - 1;
  const tail = v.slice(-4);
  const pace = tail.length > 1 ? (tail[0] - tail.at(-1)) / (tail.length - 1) : 0;
  return Math.max(1, Math.ceil(left / (pace > 0.25 ? pace : 1)));
}

/** Which of a person's days stay open when their whole trip is shown. */
const opened = new Map();
/** The whole trip shown last, so that only a new one scrolls to the top. */
let shown = '';

/** One person's whole trip, day by day; only today's day open at first. */
export async function personView(root, tripId, memberId) {
  const back = h('a', { class: 'back', href: `#/trips/${tripId}` }, '‹ Back to the trip');
  const model = await tripModel(tripId);
  if (!model) return void fill(root, h('p', {}, 'No such trip.'), h('a', { href: '#/trips' }, 'Back to trips'));
  const p = model.people.find((x) => x.id === memberId);
  const tripName = model.trip.data.name || 'Trip';
  if (!p) {
    return void fill(root, back, h('h1', {}, tripName), h('p', { class: 'card', role: 'status' }, 'The plan is being made…'));
  }
  const now = Date.now();
  const dates = [...new Set(p.days.map((d) => d.date))];
  const groups = dates.map((date) => ({ date, days: p.days.filter((d) => d.date === date) }))
    .map((g) => ({ ...g, start: toMs(g.days[0].start), end: Math.max(...g.days.map((d) => toMs(d.end))), past: g.days.every((d) => d.past) }));
  const today = todayIndex(groups, now);
  const key = `${tripId}|${memberId}`;
  if (!opened.has(key)) opened.set(key, new Set([groups[Math.max(0, Math.min(today, groups.length - 1))]?.date]));
  const open = opened.get(key);
  const others = model.people.filter((x) => x.id !== memberId);
  if (shown !== key) {
    // A new person's trip opens at its top; a refresh leaves it where it is.
    shown = key;
    requestAnimationFrame(() => scrollTo(0, 0));
  }
  fill(root,
    back,
    h('header', { class: 'stack whole-head' },
      h('h1', {}, `${p.name}’s whole trip`),
      h('p', { class: 'muted' }, tripName, ' · ', h('span', { 'data-member': p.id, 'data-seq': p.sp.seq }, `plan of ${dayClock(p.sp.computed_at, deviceZone())}`)),
      h('p', { class: 'adapt-line' }, adaptation(p, model)),
      p.plan?.notes?.length ? h('details', {}, h('summary', {}, 'Notes'), h('ul', {}, p.plan.notes.map((n) => h('li', {}, n)))) : null,
      others.length ? h('p', { class: 'row wrap whole-others' }, h('span', { class: 'muted' }, 'Others:'),
        others.map((o) => h('a', { class: 'chip', href: `#/trips/${tripId}/people/${o.id}` }, o.name))) : null),
    h('p', { class: 'muted small' }, 'Tap a day to open it, and an item for the reason. Times are local to where the day is.'),
    h('ol', { class: 'plain whole-days' }, groups.map((g, i) => {
      const lag = jetLag(g.days);
      const isToday = i === today;
      const det = h('details', { open: open.has(g.date) },
        h('summary', {},
          h('span', { class: 'wd-date' }, dateName(g.date)),
          isToday ? h('span', { class: 'badge ok' }, 'Today') : null,
          g.past ? h('span', { class: 'muted small' }, '(past)') : null,
          h('span', { class: 'wd-label' }, g.days.map((d) => dayLabel(d, model.cityOf)).join(' · ')),
          h('span', { class: 'wd-lag muted' }, lag == null ? '' : lag < 1 ? 'in step' : `${hoursText(lag)} jet lag`)),
        h('p', { class: 'muted small' }, [...new Set(g.days.map((d) => `${model.cityOf(d.tz, d.start)} time`))].join(', then ')),
        itemRows(g.days, now));
      det.addEventListener('toggle', () => (det.open ? open.add(g.date) : open.delete(g.date)));
      return h('li', { class: `whole-day${g.past ? ' past' : ''}${isToday ? ' today' : ''}`, 'aria-current': isToday ? 'date' : null }, det);
    })));
}
