// Events as docs/events.md defines them, built in the browser: each gets
// its UUIDv7 id here, where it is born, and keeps it through every retry.

import { clock, origin, uuidv7 } from './ids.js';
import { deviceZone, rfc3339 } from './time.js';

/**
 * An event envelope.
 * @param {object} o
 * @param {string} o.family family id
 * @param {string} o.type
 * @param {string} [o.member] member id, for member-level types
 * @param {number} [o.start] ms; now when left out
 * @param {number} [o.end] ms
 * @param {string} [o.tz] where it happened; this device's zone when left out
 * @param {object} [o.data]
 */
export function envelope({ family, type, member, start, end, tz, data }) {
  const now = Date.now();
  const zone = tz || deviceZone();
  const e = { id: uuidv7(now), family_id: family };
  if (member) e.member_id = member;
  e.origin = origin();
  e.type = type;
  e.start = rfc3339(start ?? now, zone);
  if (end != null) e.end = rfc3339(end, zone);
  e.tz = zone;
  e.hlc = clock.stamp();
  e.v = 1;
  e.data = data || {};
  return e;
}

/** Leaves out empty optional fields, as the canonical form does. */
export function compact(o) {
  const out = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out;
}

/** The age band of a member on a day, from birth date or band. */
export function ageBand(data, on = new Date()) {
  if (!data) return '';
  if (!data.birth_date) return data.age_band || '';
  const [y, m, d] = data.birth_date.split('-').map(Number);
  let months = (on.getFullYear() - y) * 12 + (on.getMonth() + 1 - m);
  if (on.getDate() < d) months--;
  if (months < 6) return 'under_6_months';
  if (months < 12) return '6_to_12_months';
  if (months < 36) return 'toddler';
  if (months < 156) return 'child';
  if (months < 216) return 'teen';
  return 'adult';
}

export const AGE_BANDS = {
  under_6_months: 'Baby under 6 months',
  '6_to_12_months': 'Baby 6–12 months',
  toddler: 'Toddler (1–2 years)',
  child: 'Child (3–12 years)',
  teen: 'Teen (13–17 years)',
  adult: 'Adult (18+)',
};

/** Whether a band is a baby's or a toddler's (naps by wake windows). */
export function isLittle(band) {
  return band === 'under_6_months' || band === '6_to_12_months' || band === 'toddler';
}
