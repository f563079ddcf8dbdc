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
