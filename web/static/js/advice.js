// Plan items in the words a tired parent needs: what to do now, and what
// comes next, in the zone the person is in.

import { clock, duration, toMs } from './time.js';

export const KIND_ICON = {
  sleep: '🌙',
  nap: '💤',
  light_seek: '☀️',
  light_avoid: '🕶️',
  meal: '🍽️',
  melatonin: '💊',
  caffeine_ok: '☕',
  caffeine_cutoff: '🚫',
};

/** What to do now, for an item under way at the instant at. */
export function nowLine(item, at) {
  const end = clock(item.end, item.tz);
  const left = (toMs(item.end) - toMs(at)) / 60000;
  switch (item.kind) {
    case 'nap':
      return `Nap now, up to ${duration(left)}`;
    case 'sleep':
      return item.in_flight ? `Sleep on the plane until ${end}` : `Sleep time, until ${end}`;
    case 'light_seek':
      return `Seek light until ${end}`;
    case 'light_avoid':
      return `Avoid bright light until ${end}: sunglasses outside, lamps low inside`;
    case 'caffeine_ok':
      return `Coffee or tea is fine until ${end}`;
    case 'caffeine_cutoff':
      return `No caffeine until ${end}`;
    default:
      return item.text;
  }
}

/** What comes next, for an item that starts later. */
export function nextLine(item) {
  const start = clock(item.start, item.tz);
  const end = clock(item.end, item.tz);
  const mins = (toMs(item.end) - toMs(item.start)) / 60000;
  switch (item.kind) {
    case 'nap':
      return `Nap at ${start}, ${duration(mins)}`;
    case 'sleep':
      return `Bed at ${start}, up at ${end}`;
    case 'light_seek':
      return `Seek light ${start}–${end}`;
    case 'light_avoid':
      return `Avoid bright light after ${start}: sunglasses`;
    case 'caffeine_cutoff':
      return `No caffeine after ${start}`;
    case 'caffeine_ok':
      return `Coffee or tea fine from ${start}`;
    default:
      // Meals and doses name their time already ("Breakfast at 07:30").
      return item.text.includes(start) ? item.text : `${start} ${item.text}`;
  }
}
