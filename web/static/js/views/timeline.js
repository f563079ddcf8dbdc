// A trip's plan: the body-clock chart, then every traveller side by side,
// day by day, from the shifting days before leaving until adapted.

import { KIND_ICON } from '../advice.js';
import { bodyClockChart, COLORS } from '../chart.js';
import { h, fill } from '../dom.js';
import { loadPlans, state } from '../store.js';
import { clock, dayClock, deviceZone, place, toMs } from '../time.js';

const DAY_KIND = { pre_trip: '', travel: '✈', arrival: 'Land', stay: '' };

export async function timelineView(root, id) {
  const trip = state.trips.find((t) => t.id === id);
  if (!trip || trip.removed) {
    fill(root, h('p', {}, 'No such trip.'), h('a', { href: '#/trips' }, 'Back to trips'));
    return;
  }
  const stored = state.plans.get(id) || (await loadPlans(id)) || [];
  const d = trip.data;
  const head = h('header', { class: 'stack' },
    h('div', { class: 'row between' }, h('h1', {}, d.name || 'Trip'),
      h('a', { class: 'button secondary', href: `#/trips/${id}/edit` }, 'Edit trip')),
    h('ol', { class: 'legs plain' }, d.legs.map((l, i) => {
      const upd = [...(trip.flight_updates || [])].reverse().find((u) => u.leg === i + 1);
      return h('li', {}, `✈ ${l.flight ? l.flight + ' ' : ''}${l.from || place(l.from_tz)} ${dayClock(l.depart, l.from_tz)} → ${l.to || place(l.to_tz)} ${dayClock(l.arrive, l.to_tz)} (local times)`,
        upd ? h('span', { class: 'badge warn' }, ` ${upd.status}${upd.depart ? `, now leaves ${dayClock(upd.depart, l.from_tz)}` : ''}${upd.arrive ? `, lands ${dayClock(upd.arrive, l.to_tz)}` : ''}`) : null);
    })));

  // Order the travellers as the trip lists them.
  const order = new Map(d.travellers.map((m, i) => [m, i]));
  const plans = [...stored].sort((a, b) => (order.get(a.member_id) ?? 99) - (order.get(b.member_id) ?? 99));
  if (!plans.length) {
    fill(root, head, h('p', { class: 'card', role: 'status' }, 'The plan is being made…'));
    return;
  }
  const people = plans.map((sp, i) => {
    const m = state.members.find((x) => x.id === sp.member_id);
    const p = sp.plan || null;
    const days = new Map();
    for (const day of p?.days || []) days.set(`${day.date}|${day.kind}`, day);
    return { sp, plan: p, name: m?.data.display_name || p?.name || 'Someone', color: COLORS[i % COLORS.length], modelled: !!p?.modelled, days };
  });
  // The union of days, in time order.
  const all = new Map();
  for (const p of people) for (const [k, day] of p.days) if (!all.has(k) || toMs(day.start) < toMs(all.get(k).start)) all.set(k, day);
  const days = [...all.entries()].sort((a, b) => toMs(a[1].start) - toMs(b[1].start))
    .map(([key, day]) => ({ key, day, label: short(day) }));

  const legend = h('ul', { class: 'legend plain row wrap' }, people.map((p) =>
    h('li', {}, h('span', { class: 'swatch', 'data-color': p.color }), p.name, p.modelled ? '' : ' (not modelled)')));
  for (const sw of legend.querySelectorAll('.swatch')) sw.style.background = sw.dataset.color;

  const summary = h('ul', { class: 'plain stack' }, people.map((p) => h('li', { class: 'card' },
    h('b', {}, p.name), ' — ', p.sp.error ? h('span', { class: 'error' }, p.sp.error) : adaptation(p.plan),
    p.plan?.notes?.length ? h('details', {}, h('summary', {}, 'Notes'), h('ul', {}, p.plan.notes.map((n) => h('li', {}, n)))) : null)));

  const table = h('table', { class: 'timeline' },
    h('caption', { class: 'sr-only' }, 'Each traveller’s plan by day; times are local to where the day is.'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), people.map((p) => h('th', { scope: 'col', 'data-member': p.sp.member_id, 'data-seq': p.sp.seq },
      p.name, h('small', { class: 'muted block' }, `plan of ${dayClock(p.sp.computed_at, deviceZone())}`))))),
    h('tbody', {}, days.map(({ key, day }) => h('tr', { class: day.past ? 'past' : '' },
      h('th', { scope: 'row' }, h('div', {}, day.label), h('small', { class: 'muted' }, `${day.date} · ${place(day.tz)}`)),
      people.map((p) => {
        const pd = p.days.get(key);
        if (!pd) return h('td', { class: 'muted' }, '—');
        return h('td', {}, h('ul', { class: 'items plain' }, pd.items.map((it) => h('li', { class: `item ${it.kind}`, title: it.reason },
          h('span', { class: 'icon', 'aria-hidden': 'true' }, KIND_ICON[it.kind] || '•'),
          h('span', { class: 'time' }, `${clock(it.start, it.tz)}–${clock(it.end, it.tz)}`), ' ', it.text))));
      })))));

  fill(root, head,
    h('section', { 'aria-labelledby': 'clock-h', class: 'card' }, h('h2', { id: 'clock-h' }, 'Body clocks'), legend, bodyClockChart(days, people)),
    h('section', { 'aria-labelledby': 'adapt-h' }, h('h2', { id: 'adapt-h' }, 'Adapting'), summary),
    h('section', { 'aria-labelledby': 'days-h' }, h('h2', { id: 'days-h' }, 'Day by day'), h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Day-by-day plan, scrolls sideways' }, table)));
}

function short(day) {
  const date = new Date(`${day.date}T12:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
  return `${DAY_KIND[day.kind] ? DAY_KIND[day.kind] + ' ' : ''}${date}`;
}

function adaptation(plan) {
  if (!plan) return 'no plan';
  if (!plan.modelled) return 'follows feeds and wake windows; rhythms on local time';
  return plan.adaptation.map((a) => a.days < 0
    ? `still adapting to ${place(a.tz)} time when the plan ends`
    : a.days === 0 ? `in step with ${place(a.tz)} time on arrival` : `in step with ${place(a.tz)} time by day ${a.days}`).join('; ') || 'no time zone change';
}
