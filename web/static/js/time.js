// Time zones without a library: the browser's Intl knows every IANA zone,
// so wall times convert to instants and back by asking it the offset.

const formatters = new Map();

function parts(tz, ms) {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short',
    });
    formatters.set(tz, f);
  }
  const out = {};
  for (const p of f.formatToParts(new Date(ms))) out[p.type] = p.value;
  return out;
}

/** The zone's offset from UTC at the instant, in minutes (east positive). */
export function offsetMinutes(tz, ms) {
  const p = parts(tz, ms);
  const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60000);
}

/**
 * The wall-clock date and time of an instant in a zone.
 * @returns {{date: string, time: string, weekday: string}}
 */
export function wall(ms, tz) {
  const p = parts(tz, ms);
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}`, weekday: p.weekday };
}

/**
 * The instant a wall-clock date and time name in a zone. A time the zone
 * names twice (clocks going back) is the first; a time it skips (clocks
 * going forward) comes out as a clock would show it after the change, an
 * hour later; `exact` says whether the time exists as written.
 * @returns {{ms: number, exact: boolean}}
 */
export function zoned(date, time, tz) {
  const [y, mo, d] = date.split('-').map(Number);
  const [hh, mm] = time.split(':').map(Number);
  const guess = Date.UTC(y, mo - 1, d, hh, mm);
  const day = 24 * 3600 * 1000;
  const before = guess - offsetMinutes(tz, guess - day) * 60000;
  const after = guess - offsetMinutes(tz, guess + day) * 60000;
  const ok = (ms) => {
    const w = wall(ms, tz);
    return w.date === date && w.time === time.slice(0, 5);
  };
  const good = [before, after].filter(ok);
  if (good.length) return { ms: Math.min(...good), exact: true };
  return { ms: Math.max(before, after), exact: false };
}

function pad(n, w = 2) {
  return String(n).padStart(w, '0');
}

/** An RFC 3339 time with the zone's offset: 2026-12-19T18:05:00-08:00. */
export function rfc3339(ms, tz) {
  ms = Math.floor(ms / 1000) * 1000;
  const off = offsetMinutes(tz, ms);
  const w = parts(tz, ms);
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const zone = off === 0 ? 'Z' : `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
  return `${w.year}-${w.month}-${w.day}T${w.hour}:${w.minute}:${w.second}${zone}`;
}

/** "18:05" in the zone. */
export function clock(t, tz) {
  return wall(toMs(t), tz).time;
}

/** "Sat 19 Dec" in the zone. */
export function dayName(t, tz) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'short', day: 'numeric', month: 'short' }).format(new Date(toMs(t)));
}

/** "Sat 19 Dec 18:05" in the zone. */
export function dayClock(t, tz) {
  return `${dayName(t, tz)} ${clock(t, tz)}`;
}

/** Milliseconds from an ISO string, a Date or a number. */
export function toMs(t) {
  return typeof t === 'number' ? t : t instanceof Date ? t.getTime() : Date.parse(t);
}

/** "London" from "Europe/London", "Ho Chi Minh" from "Asia/Ho_Chi_Minh". */
export function place(tz) {
  if (!tz) return '';
  if (tz === 'UTC' || tz === 'Etc/UTC') return 'UTC';
  return tz.slice(tz.lastIndexOf('/') + 1).replaceAll('_', ' ');
}

/** "London time". */
export function zoneLabel(tz) {
  return tz === 'UTC' ? 'UTC' : `${place(tz)} time`;
}

/** The zone this device is set to. */
export function deviceZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Every zone the browser knows, for the zone picker. */
export function allZones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return [];
  }
}

/** "1 h 25 min", "40 min". */
export function duration(minutes) {
  const m = Math.round(minutes);
  if (m < 60) return `${m} min`;
  return m % 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m / 60} h`;
}
