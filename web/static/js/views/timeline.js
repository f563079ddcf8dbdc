// A trip's page: its flights, today and tomorrow for everyone (one short
// row per item), how long each person takes to get used to the new time,
// and the jet-lag chart. Each person's whole trip is a tap away.

import { bodyClockChart, chartTable, hoursText, lineSample } from '../chart.js';
import { h, fill } from '../dom.js';
import { dayClock, place, toMs, wall } from '../time.js';
import { adaptation, dateName, dayLabel, itemRows, jetLag, personView, todayIndex, tripModel } from './plan.js';

/** The trip page, or with a member id that person's whole trip. */
export async function timelineView(root, id, memberId) {
  if (memberId) return personView(root, id, memberId);
  const model = await tripModel(id);
  if (!model) {
    fill(root, h('p', {}, 'No such trip.'), h('a', { href: '#/trips' }, 'Back to trips'));
    return;
  }
  const { trip, people, groups } = model;
  const d = trip.data;
  const head = h('header', { class: 'stack trip-head' },
    h('div', { class: 'row between wrap' }, h('h1', {}, d.name || 'Trip'),
      h('a', { class: 'button secondary', href: `#/trips/${id}/edit` }, 'Edit trip')),
    h('ol', { class: 'legs plain' }, d.legs.map((l, i) => {
      const upd = [...(trip.flight_updates || [])].reverse().find((u) => u.leg === i + 1);
      return h('li', {}, `✈ ${l.flight ? l.flight + ' ' : ''}${l.from || place(l.from_tz)} ${dayClock(l.depart, l.from_tz)} → ${l.to || place(l.to_tz)} ${dayClock(l.arrive, l.to_tz)}${i === d.legs.length - 1 ? ' (local times)' : ''}`,
        upd ? h('span', { class: 'badge warn' }, ` ${upd.status}${upd.depart ? `, now leaves ${dayClock(upd.depart, l.from_tz)}` : ''}${upd.arrive ? `, lands ${dayClock(upd.arrive, l.to_tz)}` : ''}`) : null);
    })));
  if (!people.length || !groups.length) {
    fill(root, head, h('p', { class: 'card', role: 'status' }, 'The plan is being made…'));
    return;
  }

  // Today and tomorrow; before the trip its first two days, after it its last two.
  const now = Date.now();
  const t = todayIndex(groups, now);
  let shown;
  let note = '';
  let names = [];
  if (t < 0) {
    shown = groups.slice(0, 2);
    note = `The plan starts on ${dateName(groups[0].date)}. Its first days:`;
  } else if (t >= groups.length) {
    shown = groups.slice(-2);
    note = `This trip is over: its plan ended on ${dateName(groups.at(-1).date)}. Its last days:`;
  } else {
    shown = groups.slice(t, t + 2);
    names = ['Today', 'Tomorrow'];
    if (shown.length === 1) note = 'Today is the plan’s last day.';
  }
  const days = shown.map((g, k) => {
    const hid = `day-h-${k}`;
    const first = people.map((p) => g.of.get(p.id)).find((x) => x?.length) || [];
    const where = [...new Set(first.map((x) => `${model.cityOf(x.tz, x.start)} time`))].join(', then ');
    return h('section', { class: 'plan-day', 'aria-labelledby': hid },
      h('h2', { id: hid }, names[k] ? `${names[k]} · ${dateName(g.date)}` : dateName(g.date)),
      h('p', { class: 'muted small day-what' }, [...first.map((x) => dayLabel(x, model.cityOf)), where].filter(Boolean).join(' · ')),
      h('ul', { class: 'plain who-list' }, people.map((p) => h('li', { class: 'who' },
        h('div', { class: 'who-head' },
          h('h3', {}, h('span', { class: 'dot', 'data-color': p.color, 'aria-hidden': 'true' }), p.name),
          h('a', { class: 'whole', href: `#/trips/${id}/people/${p.id}`, 'data-whole-trip': p.id },
            'Whole trip', h('span', { class: 'sr-only' }, ` of ${p.name}`), h('span', { 'aria-hidden': 'true' }, ' ›'))),
        p.sp.error ? h('p', { class: 'error' }, p.sp.error) : itemRows(g.of.get(p.id) || [], now)))));
  });
  for (const el of days) for (const dot of el.querySelectorAll('.dot')) dot.style.background = dot.dataset.color;

  fill(root, head,
    note ? h('p', { class: 'plan-note', role: 'note' }, note) : null,
    days,
    chartSection(model, groups, t));
}

/** "about 5 days…" after a name and a colon. */
function lower(text) {
  return text && !/^[A-Z]{2}/.test(text) ? text[0].toLowerCase() + text.slice(1) : text;
}

/** The jet-lag chart with its plain sentence, its legend and its table. */
function chartSection(model, groups, today) {
  const { people, trip, cityOf } = model;
  const series = people.filter((p) => p.modelled && p.days.some((x) => x.misalignment_h != null)).map((p) => ({
    id: p.id, name: p.name, color: p.color, dash: p.dash,
    values: groups.map((g) => jetLag(g.of.get(p.id))),
  }));
  const index = new Map(groups.map((g, i) => [g.date, i]));
  const marks = [];
  for (const l of trip.data.legs) {
    const i = index.get(wall(toMs(l.arrive), l.to_tz).date);
    if (i != null) marks.push({ i, text: `Land in ${cityOf(l.to_tz, l.arrive)}`, short: 'Land' });
  }
  const days = groups.map((g) => ({
    label: new Date(`${g.date}T12:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' }),
    long: dateName(g.date),
  }));
  const desc = series.map((p) => {
    const known = p.values.map((v, i) => [v, i]).filter(([v]) => v != null);
    const [max, at] = known.reduce((a, b) => (b[0] > a[0] ? b : a), [0, 0]);
    const [last, end] = known.at(-1);
    return `${p.name}: at most ${hoursText(max)} of jet lag, on ${days[at].long}; ${last < 1 ? 'in step' : hoursText(last)} on ${days[end].long}.`;
  }).join(' ');
  const onChart = new Set(series.map((p) => p.id));
  // Who is who on the chart, and how long each takes to get used to the new time.
  const list = h('ul', { class: 'plain adapt-list' }, model.people.map((p) => h('li', { 'data-member': p.id, 'data-seq': p.sp.seq },
    onChart.has(p.id) ? lineSample(p.color, p.dash) : null, h('b', {}, p.name), ': ', lower(adaptation(p, model)))));
  return h('section', { 'aria-labelledby': 'clock-h', class: 'jetlag' },
    h('h2', { id: 'clock-h' }, 'Jet lag, day by day'),
    h('p', { class: 'chart-lead' }, 'Hours each body clock is off local time; lower is better, 0 h is in step.'),
    series.length ? bodyClockChart({ days, series, marks, today: today >= 0 && today < groups.length ? today : -1, desc }) : null,
    list,
    series.length ? chartTable({ days, series }) : null);
}
