// Small DOM helpers. Text always goes in as text nodes, never as HTML, so
// nothing a family types can become markup.

/**
 * Makes an element: h('button', {class: 'big', onclick: f}, 'Tap').
 * Attributes starting with "on" are listeners; `true` sets a boolean
 * attribute, `false`, null and undefined leave it out.
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...any} children strings, nodes, arrays of them, or null
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

/** Makes an SVG element. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

/**
 * A labelled form field: the label wraps the control, so a tap on the text
 * focuses it and screen readers announce it.
 */
export function field(label, control, hint) {
  const id = control.id || (control.id = uid('f'));
  const hintEl = hint ? h('small', { class: 'hint', id: id + '-hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

let counter = 0;
/** A page-unique id for labels and ARIA references. */
/**
 * A link to hand on: the address in a read-only field, labelled, and a
 * Copy link button. Without a clipboard (plain HTTP on a LAN) the button
 * selects the address, to copy by hand.
 * @param {string} label
 * @param {string} url
 * @param {string} cls the field's class
 * @returns {{field: HTMLElement, copy: HTMLButtonElement}}
 */
export function linkField(label, url, cls) {
  const input = h('input', { type: 'text', readonly: true, value: url, class: cls, spellcheck: 'false' });
  const copy = async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(url);
      toast('Link copied');
    } catch {
      // No clipboard over plain HTTP: the link is selected to copy.
    }
  };
  return { field: field(label, input), copy: h('button', { type: 'button', class: 'secondary', onclick: copy }, 'Copy link') };
}

export function uid(prefix = 'id') {
  return `${prefix}-${++counter}`;
}

/** Announces a short message to screen readers and shows it as a toast. */
export function toast(message, action) {
  const box = document.getElementById('toasts');
  if (!box) return;
  // One at a time: a new toast replaces the last, so an Undo always
  // undoes the latest entry.
  box.replaceChildren();
  const t = h('div', { class: 'toast', role: 'status' }, h('span', {}, message));
  if (action) {
    t.append(h('button', { type: 'button', class: 'link', onclick: () => { t.remove(); action.run(); } }, action.label));
  }
  box.append(t);
  setTimeout(() => t.remove(), action ? 10000 : 5000);
}

// Form errors. A wrong field gets aria-invalid and, right under it, a
// visible .field-error saying what is wrong and how to fix it, named by
// the field's aria-describedby; changing the field clears it. The form's
// p.error[role=alert] carries a one-line summary naming the field.

const errors = new WeakMap();

/** Where a field's error goes: under its .field, or after its row. */
function errorAnchor(input) {
  return input.closest('[data-error-anchor]') || input.closest('.field') || input;
}

/**
 * Marks a field wrong, with a message in plain words under it.
 * @param {HTMLElement} input
 * @param {string} message
 */
export function fieldError(input, message) {
  clearFieldError(input);
  const id = (input.id || (input.id = uid('f'))) + '-error';
  const el = h('p', { class: 'field-error', id }, message);
  const anchor = errorAnchor(input);
  if (anchor.matches('.field') && anchor !== input) anchor.append(el);
  else anchor.after(el);
  input.setAttribute('aria-invalid', 'true');
  const described = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  input.setAttribute('aria-describedby', [...described, id].join(' '));
  const clear = () => clearFieldError(input);
  input.addEventListener('input', clear);
  input.addEventListener('change', clear);
  errors.set(input, { el, clear });
}

/** Takes a field's error away (the field was changed or is right now). */
export function clearFieldError(input) {
  const e = errors.get(input);
  if (!e) return;
  errors.delete(input);
  e.el.remove();
  input.removeEventListener('input', e.clear);
  input.removeEventListener('change', e.clear);
  input.removeAttribute('aria-invalid');
  const rest = (input.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== e.el.id);
  if (rest.length) input.setAttribute('aria-describedby', rest.join(' '));
  else input.removeAttribute('aria-describedby');
  const form = input.closest('form');
  const summary = form?.querySelector('p.error[role=alert]');
  if (summary && form && !form.querySelector('[aria-invalid="true"]') && summary.dataset.fields) {
    summary.textContent = '';
    delete summary.dataset.fields;
  }
}

/**
 * What is wrong with a form: a list of {input, message}; an input may be
 * null for a problem no single field holds.
 */
export class FormProblems extends Error {
  /** @param {{input: HTMLElement|null, message: string}[]} list */
  constructor(list) {
    super(list.map((p) => p.message).join(' '));
    this.list = list;
  }
}

/** Throws FormProblems when the list is not empty. */
export function check(list) {
  if (list.length) throw new FormProblems(list);
}

/** Clears every field error in a form and its summary. */
export function clearProblems(form, summary) {
  for (const input of form.querySelectorAll('[aria-invalid="true"]')) clearFieldError(input);
  if (summary) {
    summary.textContent = '';
    delete summary.dataset.fields;
  }
}

/**
 * Shows what is wrong: each field's error under it, a one-line summary in
 * the form's alert, and the first wrong field focused and in view. Takes
 * FormProblems, or any Error (its message goes in the summary).
 * @param {HTMLElement} summary the form's p.error[role=alert]
 */
export function showProblems(summary, err) {
  const list = err instanceof FormProblems ? err.list : [{ input: null, message: err?.message || String(err) }];
  for (const p of list) if (p.input) fieldError(p.input, p.message);
  const first = list.find((p) => p.input)?.input;
  const more = list.length > 1 ? ` (and ${list.length - 1} more to fix)` : '';
  summary.textContent = list[0].message + more;
  if (first) summary.dataset.fields = '1';
  if (first) {
    first.focus({ preventScroll: true });
    first.scrollIntoView({ block: 'center', behavior: 'instant' });
  } else {
    summary.scrollIntoView({ block: 'center', behavior: 'instant' });
  }
}

const WORDS = [
  [/\bdata\.naps\[(\d+)\]/g, (_, i) => `nap ${Number(i) + 1}`],
  [/\bdata\.legs\[(\d+)\]/g, (_, i) => `flight ${Number(i) + 1}`],
  [/\bdata\./g, ''],
  [/\bdisplay_name\b/g, 'name'], [/\bsleep_time\b/g, 'bedtime'], [/\bwake_time\b/g, 'wake time'],
  [/\bbirth_date\b/g, 'birth date'], [/\bage_band\b/g, 'age group'], [/\bhome_tz\b/g, 'home time zone'],
  [/\bduration_min\b/g, 'length'], [/\bfrom_tz\b/g, 'from'], [/\bto_tz\b/g, 'to'], [/_/g, ' '],
];

/** A path or rule of the hub's in words: "data.naps[0].start" → "nap 1.start". */
export function inWords(text) {
  let out = String(text || '');
  for (const [re, to] of WORDS) out = out.replace(re, to);
  return out.replace(/\.(\w)/g, ' $1');
}

/**
 * The hub's refusal as form problems: each problem on the field its path
 * names (resolve answers the input, or null), in words.
 * @param {{message?: string, problems?: {index?: number, path?: string, rule: string}[]}} err
 * @param {(p: {index?: number, path?: string}) => HTMLElement|null} resolve
 */
export function hubProblems(err, resolve) {
  const list = (err.problems || []).map((p) => {
    const input = p.path ? resolve(p) : null;
    const where = p.path ? `${inWords(p.path)[0].toUpperCase()}${inWords(p.path).slice(1)}: ` : '';
    return { input, message: `${where}${inWords(p.rule)}` };
  });
  if (!list.length) list.push({ input: null, message: `The hub did not take it: ${err.message || 'no reason given'}.` });
  return new FormProblems(list);
}
