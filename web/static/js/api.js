// The hub's HTTP API. Failures come out as two kinds of error: the hub
// answered and said no (ApiError, with its code and problems), or the hub
// could not be reached (Unreachable).

import { inWords } from './dom.js';

/**
 * One problem of a refused request in a line, in words: "End: must be
 * after start", with the entry's number in a batch ("Entry 2, end: …").
 * @param {{index?: number, code: string, path?: string, rule: string, text?: string}} p
 */
export function problemText(p) {
  if (p.text) return p.text; // kept in the outbox by an older version
  const where = [p.index === undefined ? '' : `entry ${p.index + 1}`, p.path ? inWords(p.path) : ''].filter(Boolean).join(', ');
  const text = `${where ? `${where}: ` : ''}${inWords(p.rule)}`;
  return text[0].toUpperCase() + text.slice(1);
}

/** The hub answered with an error: {code, message, problems}. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = body && typeof body === 'object' ? body : {};
    super(e.message || `the hub answered ${status}`);
    this.status = status;
    this.code = e.code || 'internal';
    /** @type {{index?: number, code: string, path?: string, rule: string}[]} */
    this.problems = e.problems || [];
  }

  /** The message with every problem, for a person to read. */
  get detail() {
    return [this.message, ...this.problems.map(problemText)].join('\n');
  }
}

/** The hub could not be reached (or answered from the offline copy only). */
export class Unreachable extends Error {}

/** Whether the last answer came from the service worker's saved copy. */
export const freshness = { saved: null };

/**
 * Calls the API and decodes the JSON answer.
 * @param {string} path
 * @param {{method?: string, body?: any, signal?: AbortSignal}} [opts]
 */
export async function api(path, opts = {}) {
  const init = { method: opts.method || 'GET', headers: {}, credentials: 'same-origin', signal: opts.signal };
  if (opts.body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new Unreachable('the hub cannot be reached');
  }
  if (init.method === 'GET') freshness.saved = res.headers.get('X-Zoner-Saved');
  let body = null;
  const text = await res.text();
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, body);
    if (res.status === 401) dispatchEvent(new CustomEvent('zoner:unauthorized'));
    throw err;
  }
  return body;
}
