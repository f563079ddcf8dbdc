// Today: a card per person with what to do now and next, in the zone they
// are in, named.

import { KIND_ICON, nextLine, nowLine } from '../advice.js';
import { h, fill } from '../dom.js';
import { state } from '../store.js';
import { clock, dayName, zoneLabel } from '../time.js';

export function todayView(root) {
  const t = state.today;
  if (!t) {
    fill(root, h('p', { class: 'muted' }, 'Loading…'));
    return;
  }
  const activeTrip = state.trips.find((x) => !x.removed);
  const cards = t.members.map((m) => {
    const tz = m.tz;
    return h('article', { class: 'card now', 'aria-labelledby': `now-${m.member_id}` },
      h('header', { class: 'row between' },
        h('h2', { id: `now-${m.member_id}` }, m.name),
        h('span', { class: 'where' }, `${clock(t.at, tz)} ${zoneLabel(tz)}`)),
      m.day ? h('p', { class: 'muted' }, `${m.day.label} · ${dayName(t.at, tz)}`) : null,
      m.now.length
        ? h('ul', { class: 'plain doing' }, m.now.map((it) => h('li', { class: `item big ${it.kind}` },
          h('span', { class: 'icon', 'aria-hidden': 'true' }, KIND_ICON[it.kind] || '•'),
          h('div', {}, h('b', {}, nowLine(it, t.at)), h('small', { class: 'why' }, it.reason)))))
        : h('p', { class: 'quiet' }, m.note || 'Nothing special right now: live on local time.'),
      m.next.length ? h('div', {}, h('h3', {}, 'Next'), h('ul', { class: 'plain next' }, m.next.map((it) => h('li', { class: `item ${it.kind}` },
        h('span', { class: 'icon', 'aria-hidden': 'true' }, KIND_ICON[it.kind] || '•'), nextLine(it))))) : null,
      cloudLine(m, tz),
      h('div', { class: 'row' },
        h('a', { class: 'button secondary', href: `#/log/${m.member_id}` }, `Log for ${m.name}`)));
  });
  fill(root,
    h('h1', { class: 'sr-only' }, 'Today'),
    state.members.length === 0 ? h('p', {}, 'No one in the family yet. ', h('a', { href: '#/family/new' }, 'Add a person')) : null,
    !activeTrip && state.members.length ? h('p', { class: 'card' }, 'No trip yet. ', h('a', { href: '#/trips/new' }, 'Plan a trip'), ' and each person gets a plan.') : null,
    h('div', { class: 'cards' }, cards));
}

/** Whether the advice shown took the cloud's news into account. */
function cloudLine(m, tz) {
  if (!m.cloud) return null;
  const at = clock(m.cloud.at, tz);
  return m.cloud.ahead
    ? h('p', { class: 'muted cloud' }, `Using the cloud's plan from ${at}: it has news that has not reached this hub yet.`)
    : h('p', { class: 'muted cloud' }, `Includes everything the cloud knew at ${at}.`);
}
