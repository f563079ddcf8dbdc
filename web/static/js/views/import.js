// Import sleep history: a parent picks a sleep tracker's export on the
// phone and the hub turns it into this person's nights, naps and time in
// daylight. The file goes to the hub only; nothing leaves the house.

import { ApiError, Unreachable, isCloud, upload } from '../api.js';
import { FormProblems, clearProblems, field, fill, h, showProblems } from '../dom.js';
import { state } from '../store.js';
import { zoneSelect } from './member.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The body's Content-Type for a file name's extension. */
const TYPES = { zip: 'application/zip', xml: 'application/xml', json: 'application/json', csv: 'text/csv' };

/**
 * The import screen for one member (#/members/<id>/import).
 * @param {HTMLElement} root
 * @param {string} id
 */
export function importView(root, id) {
  const m = state.members.find((x) => x.id === id);
  if (!m) {
    fill(root, h('p', {}, 'No such person in this family.'), h('a', { href: '#/family' }, 'Back to the family'));
    return;
  }
  const name = m.data.display_name;
  const back = h('a', { class: 'button ghost', href: `#/family/${m.id}` }, `Back to ${name}`);
  const sources = h('ul', { class: 'sources' },
    h('li', {}, h('b', {}, 'Apple Health: '), 'in the Health app, tap your picture, then Export All Health Data. Pick the export.zip it makes.'),
    h('li', {}, h('b', {}, 'Fitbit: '), 'Google Takeout (takeout.google.com), Fitbit data. Pick a sleep-….json file from it.'),
    h('li', {}, h('b', {}, 'Oura: '), 'in the Oura web app (cloud.ouraring.com), export your data as JSON.'),
    h('li', {}, h('b', {}, 'Any other app: '), 'a CSV file with the columns start,end,kind, one sleep a line; kind is sleep or nap.'),
    h('li', {}, h('b', {}, 'Health Connect (Android): '), 'its own export cannot be read; export from Fitbit through Google Takeout, or as a CSV.'));
  if (isCloud()) {
    fill(root, h('h1', {}, `Import ${name}'s sleep history`),
      h('p', { class: 'card' }, 'Importing works only on the family’s hub, at home: the file goes to the hub and nowhere else. Open Zoner from the hub to import.'),
      back);
    return;
  }

  const file = h('input', { type: 'file', name: 'file', accept: '.zip,.xml,.json,.csv', required: true });
  const zone = zoneSelect(m.data.home_tz, 'tz');
  const zoneField = field('Time zone of the times in the file', zone, `These files give times without a zone. ${name}'s home zone is picked.`);
  zoneField.hidden = true;
  const progress = h('progress', { max: 100, value: 0, 'aria-label': 'Upload' });
  const status = h('p', { class: 'muted', role: 'status' });
  const working = h('div', { class: 'import-progress', hidden: true }, progress);
  const result = h('p', { class: 'import-result', role: 'status', tabindex: '-1' });
  const error = h('p', { class: 'error', role: 'alert' });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Import');

  file.addEventListener('change', async () => {
    result.textContent = '';
    zoneField.hidden = !(file.files?.[0] && (await needsZone(file.files[0])));
  });

  const form = h('form', { class: 'stack', novalidate: true },
    h('h1', {}, `Import ${name}'s sleep history`),
    h('p', {}, `Zoner learns ${name}'s body clock from past nights. Pick an export from a sleep tracker; it goes to the hub only, and nothing leaves the house. Importing the same file again adds nothing twice.`),
    h('details', { class: 'card' }, h('summary', {}, 'Where do I get the file?'), sources),
    field('Export file', file, 'Apple Health .zip or .xml, Fitbit .json, Oura .json, or a .csv'),
    zoneField, error,
    h('div', { class: 'row wrap' }, send, back),
    working, status, result);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearProblems(form, error);
    result.textContent = '';
    const f = file.files?.[0];
    if (!f) {
      showProblems(error, new FormProblems([{ input: file, message: 'Pick the export file first.' }]));
      return;
    }
    const ext = f.name.split('.').pop()?.toLowerCase() || '';
    const query = zoneField.hidden ? '' : `?tz=${encodeURIComponent(zone.value)}`;
    send.disabled = true;
    working.hidden = false;
    progress.value = 0;
    status.textContent = `Sending ${f.name}…`;
    try {
      const out = await upload(`/api/v1/members/${m.id}/imports${query}`, f, TYPES[ext] || 'application/octet-stream', (done) => {
        progress.value = Math.round(done * 100);
        if (done >= 1) status.textContent = 'Reading the file on the hub…';
      });
      status.textContent = '';
      result.textContent = sentence(out);
      result.focus();
    } catch (err) {
      status.textContent = '';
      showProblems(error, problems(err, file, zone));
    } finally {
      send.disabled = false;
      working.hidden = true;
    }
  });
  fill(root, form);
}

/**
 * Whether a file has times without a zone: Fitbit's always, a CSV's
 * when one of its first rows has a time without an offset.
 * @param {File} f
 */
async function needsZone(f) {
  const ext = f.name.split('.').pop()?.toLowerCase();
  if (ext !== 'json' && ext !== 'csv') return false;
  const head = (await f.slice(0, 4096).text()).replace(/^\uFEFF/, '').trimStart();
  if (ext === 'json') return head.startsWith('[');
  const rows = head.split(/\r?\n/).slice(1, 20).filter((l) => l.trim());
  return rows.some((l) => l.split(',').slice(0, 2).some((t) => !/(Z|[+-]\d\d:\d\d)\s*$/i.test(t.trim())));
}

/** What the hub said it did, in words. */
function sentence(out) {
  const what = [count(out.nights, 'night'), count(out.naps, 'nap')].filter(Boolean);
  if (out.light) what.push(`${out.light} ${out.light === 1 ? 'time' : 'times'} in daylight`);
  const list = what.length > 1 ? `${what.slice(0, -1).join(', ')} and ${what.at(-1)}` : what[0];
  if (!out.events) return 'The file holds no sleep: nothing was added.';
  const span = out.first ? ` from ${day(out.first, out.last)} to ${day(out.last, out.first)}` : '';
  if (out.new === out.events) return `Added ${list}${span}. 0 were already there.`;
  if (out.new === 0) return `Nothing added: all ${list}${span} were already there.`;
  return `Added ${out.new} of the ${out.events} entries (${list})${span}. ${out.already} were already there.`;
}

function count(n, word) {
  return n ? `${n} ${word}${n === 1 ? '' : 's'}` : '';
}

/** "Jan 2", with the year when it is not this year's or the span's other end's. */
function day(date, other) {
  const [y, mo, d] = date.split('-').map(Number);
  const same = other && other.slice(0, 4) === date.slice(0, 4) && y === new Date().getFullYear();
  return `${MONTHS[mo - 1]} ${d}${same ? '' : `, ${y}`}`;
}

/** The hub's refusal on the field it is about. */
function problems(err, file, zone) {
  if (err instanceof Unreachable) return new FormProblems([{ input: file, message: 'The hub cannot be reached: check that this phone is on the home network, then try again. Nothing was imported.' }]);
  if (!(err instanceof ApiError)) return err;
  const up = (t) => (t ? t[0].toUpperCase() + t.slice(1) : t);
  const list = err.problems.map((p) => {
    if (p.path === 'tz') return { input: zone, message: `Time zone: ${p.rule}.` };
    if (p.path === 'body') return { input: file, message: `${up(p.rule)}. ${up(err.message)}.` };
    return { input: file, message: `${up(p.path ? `${p.path}: ${p.rule}` : p.rule)}.` };
  });
  if (!list.length) list.push({ input: file, message: `${up(err.message)}.` });
  return new FormProblems(list);
}
