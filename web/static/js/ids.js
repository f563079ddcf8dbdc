// Event ids (UUIDv7) and the hybrid logical clock, as docs/events.md
// defines them.

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A new UUIDv7: 48 bits of Unix milliseconds, then random bits. */
export function uuidv7(now = Date.now()) {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  let ms = now;
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const x = hex(b);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const KEY = 'zoner.hlc';
const MIN = Date.UTC(2000, 0, 1);
// How far ahead of this device's clock a stamp seen on another device's
// event may be taken in: a day, as the family fold's horizon. A stamp from
// a clock reading 2099 must not make every later stamp of this browser
// 2099 too (the hub would refuse them all), while a browser whose clock is
// behind the hub's by minutes or hours still stamps its edits after what
// it has seen.
const MAX_AHEAD_MS = 24 * 3600 * 1000;

function parse(stamp) {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)-(\d{4})$/.exec(stamp || '');
  return m ? { ms: Date.parse(m[1]), n: Number(m[2]) } : null;
}

function format(ms, n) {
  return `${new Date(ms).toISOString()}-${String(n).padStart(4, '0')}`;
}

/**
 * The hybrid logical clock of this browser. `last` survives reloads in
 * localStorage; stamps only grow, even when the wall clock steps back.
 */
export class Clock {
  constructor(storage = globalThis.localStorage, now = () => Date.now()) {
    this.storage = storage;
    this.now = now;
  }

  get last() {
    try {
      return this.storage?.getItem(KEY) || '';
    } catch {
      return '';
    }
  }

  set last(v) {
    try {
      this.storage?.setItem(KEY, v);
    } catch {
      // A private window may refuse storage; stamps still grow in this page.
    }
    this.memo = v;
  }

  /** A new stamp, after every stamp issued or seen. */
  stamp() {
    const now = Math.max(this.now(), MIN);
    let last = parse(this.last > (this.memo || '') ? this.last : this.memo || '');
    // A stamp kept from before the limit, far ahead: start again from now.
    if (last && last.ms > now + MAX_AHEAD_MS) last = null;
    let out;
    if (!last || now > last.ms) out = format(now, 0);
    else if (last.n < 9999) out = format(last.ms, last.n + 1);
    else out = format(last.ms + 1, 0);
    this.last = out;
    return out;
  }

  /** Takes note of a stamp seen on another device's event. */
  observe(stamp) {
    const p = parse(stamp);
    if (!p || p.ms > Math.max(this.now(), MIN) + MAX_AHEAD_MS) return;
    if (stamp > this.last && stamp > (this.memo || '')) this.last = stamp;
  }
}

export const clock = new Clock();

/** This browser's name in events' origin: "web:" and a random tag. */
export function origin() {
  let id = '';
  try {
    id = localStorage.getItem('zoner.device') || '';
    if (!/^[a-z0-9-]{4,40}$/.test(id)) {
      id = 'browser-' + hex(crypto.getRandomValues(new Uint8Array(4)));
      localStorage.setItem('zoner.device', id);
    }
  } catch {
    id = 'browser';
  }
  return 'web:' + id;
}
