// The place picker: type an airport code, a city or a zone; pick from a
// short list with arrows and Enter or a tap. The airport table loads on
// first use.

import { h, uid } from './dom.js';
import { allZones, place } from './time.js';

/** @type {Promise<{iata: string, name: string, city: string, country: string, tz: string}[]>|null} */
let table = null;

/** The airport table, loaded once. */
export function airports() {
  table ||= import('./airports.js').then(({ zones, airports }) =>
    airports.split('\n').map((row) => {
      const [iata, name, city, country, tz] = row.split('|');
      return { iata, name, city, country, tz: zones[Number(tz)] };
    })).then((list) => {
      byCode = new Map(list.map((a) => [a.iata, a]));
      return list;
    });
  return table;
}

/** @type {Map<string, {iata: string, name: string, city: string, country: string, tz: string}>|null} */
let byCode = null;

/**
 * The place a leg end is named by: the airport's city ("San Francisco" for
 * SFO, though its clock is America/Los_Angeles), or the zone's place for a
 * leg given by zone only. Sync: answers the zone's place until the airport
 * table is loaded (legPlaceAsync waits for it).
 * @param {string|undefined} iata
 * @param {string} tz
 */
export function legPlace(iata, tz) {
  const a = iata && byCode?.get(iata);
  return a ? a.city || a.name : place(tz);
}

/** legPlace, once the airport table is loaded. */
export async function legPlaceAsync(iata, tz) {
  if (iata) await airports();
  return legPlace(iata, tz);
}

/**
 * Finds places matching a query: airports by code, city, name or country,
 * then zones by name.
 * @returns {Promise<{iata?: string, tz: string, label: string, detail: string}[]>}
 */
export async function search(query, limit = 8) {
  const q = query.trim().toLowerCase();
  if (!q) return [];
  const list = await airports();
  const scored = [];
  for (const a of list) {
    const code = a.iata.toLowerCase();
    const city = a.city.toLowerCase();
    let score = 0;
    if (code === q) score = 100;
    else if (city === q) score = 80;
    else if (city.startsWith(q)) score = 60;
    else if (code.startsWith(q)) score = 50;
    else if (a.name.toLowerCase().includes(q)) score = 30;
    else if (a.country.toLowerCase().startsWith(q)) score = 10;
    if (score) scored.push({ score, a });
  }
  scored.sort((x, y) => y.score - x.score || (y.a.name.includes('International') ? 1 : 0) - (x.a.name.includes('International') ? 1 : 0) || x.a.iata.localeCompare(y.a.iata));
  const out = scored.slice(0, limit).map(({ a }) => ({
    iata: a.iata, tz: a.tz, label: `${a.iata} · ${a.city || a.name}`, detail: `${a.name}, ${a.country}`,
  }));
  const zq = q.replaceAll(' ', '_');
  for (const z of allZones()) {
    if (out.length >= limit + 3) break;
    if (z.toLowerCase().includes(zq)) out.push({ tz: z, label: place(z), detail: `Time zone ${z.replaceAll('_', ' ')}` });
  }
  return out;
}

/** The field error for text that is not a place from the list. */
export const UNPICKED = 'Pick an airport from the list (type a code like LHR or a city)';

/**
 * A combobox for a place. Focus selects the whole text, so typing replaces
 * it. `resolve()` answers the place picked, taking a typed airport code
 * that names exactly one airport as picked; null when nothing is.
 * @param {{label: string, name?: string, value?: {iata?: string, tz: string, label: string}, onchange?: (v: any) => void, required?: boolean}} o
 */
export function placePicker(o) {
  const id = uid('place');
  const listId = id + '-list';
  let value = o.value || null;
  let options = [];
  let active = -1;
  const input = h('input', {
    id, name: o.name, type: 'text', role: 'combobox', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false',
    'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': listId,
    placeholder: 'Airport code, city or zone', value: value ? value.label : '', required: o.required,
  });
  const list = h('ul', { id: listId, role: 'listbox', class: 'options', hidden: true, 'aria-label': o.label });
  const chosen = h('small', { class: 'hint', 'aria-live': 'polite' }, value ? describe(value) : '');
  const box = h('div', { class: 'field picker' }, h('label', { for: id }, o.label), input, list, chosen);

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };
  const pick = (opt) => {
    value = opt;
    input.value = opt.label;
    chosen.textContent = describe(opt);
    close();
    o.onchange?.(opt);
  };
  const highlight = (i) => {
    active = i;
    [...list.children].forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
    if (i >= 0) input.setAttribute('aria-activedescendant', `${listId}-${i}`);
  };
  let seq = 0;
  input.addEventListener('input', async () => {
    value = null;
    chosen.textContent = '';
    const mine = ++seq;
    options = await search(input.value);
    if (mine !== seq) return;
    list.replaceChildren(...options.map((opt, i) => h('li', {
      id: `${listId}-${i}`, role: 'option', 'aria-selected': 'false',
      onmousedown: (ev) => { ev.preventDefault(); pick(opt); },
    }, h('b', {}, opt.label), h('span', {}, opt.detail))));
    list.hidden = options.length === 0;
    input.setAttribute('aria-expanded', String(!list.hidden));
    highlight(options.length ? 0 : -1);
  });
  input.addEventListener('keydown', (ev) => {
    if (list.hidden) return;
    if (ev.key === 'ArrowDown') highlight(Math.min(active + 1, options.length - 1));
    else if (ev.key === 'ArrowUp') highlight(Math.max(active - 1, 0));
    else if (ev.key === 'Enter' && active >= 0) pick(options[active]);
    else if (ev.key === 'Escape') close();
    else return;
    ev.preventDefault();
  });
  // Closes a moment after focus leaves (a tap on an option lands first),
  // unless focus came back meanwhile.
  input.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== input) close(); }, 100));
  // Focus (a tap, a tab) selects the whole text: typing then replaces it,
  // never "LHR · LondonLHR". A tap's mouseup would undo the selection.
  let selecting = false;
  input.addEventListener('focus', () => {
    input.select();
    selecting = true;
  });
  input.addEventListener('mouseup', (ev) => {
    if (selecting) ev.preventDefault();
    selecting = false;
  });
  input.addEventListener('keydown', () => { selecting = false; }, true);
  const resolve = async () => {
    if (value) return value;
    const text = input.value.trim().toUpperCase();
    if (/^[A-Z]{3}$/.test(text)) {
      await airports();
      const a = byCode.get(text);
      if (a) pick({ iata: a.iata, tz: a.tz, label: `${a.iata} · ${a.city || a.name}`, detail: `${a.name}, ${a.country}` });
    }
    return value;
  };
  return { el: box, get value() { return value; }, input, resolve };
}

function describe(v) {
  if (!v.iata) return `Time zone ${v.tz.replaceAll('_', ' ')}`;
  const city = legPlace(v.iata, v.tz);
  return `${v.detail ? `${v.detail} · ` : ''}times here in ${city} time`;
}
