// The jet-lag chart: for each person, how many hours their body clock is
// from local time, day by day (0 = in step), with the landings marked.
// It is drawn at the width it is shown at, so its text keeps one size on
// a phone and on a laptop, and drawn again when that width changes. The
// labels are measured and thinned so that none touches another or sits
// on the lines.

import { h, s, uid } from './dom.js';

/** Distinct colours that read on the dark background. */
export const COLORS = ['#7cc4ff', '#ffb86b', '#9be59b', '#f49ac1', '#d6c3ff', '#ffe27a', '#7fe3d8', '#ff8f8f'];
/** Line patterns, so that colour is not the only way to tell people apart. */
export const DASHES = ['', '8 4', '2 4', '10 4 2 4', '4 4', '12 6', '2 2', '6 3 2 3'];

/** The one text size of the chart, in CSS pixels. */
const FONT = 13;
const RIGHT = 10;
const GAP = 6;

/** "5 h", "½ h", "0 h", to the nearest half hour. */
export function hoursText(v) {
  const r = Math.round(v * 2) / 2;
  const whole = Math.floor(r);
  return `${r - whole ? (whole ? `${whole}½` : '½') : whole} h`;
}

let canvas = null;
/** The width of a text at the chart's size, measured in the page's font. */
function measure(text, weight = 400) {
  canvas ||= document.createElement('canvas').getContext('2d');
  const family = (document.body && getComputedStyle(document.body).fontFamily) || 'system-ui, sans-serif';
  canvas.font = `${weight} ${FONT}px ${family}`;
  return canvas.measureText(text).width;
}

/**
 * The chart, in a box that redraws it at its own width.
 * @param {{
 *   days: {label: string}[],
 *   series: {name: string, color: string, dash: string, values: (number|null)[]}[],
 *   marks: {i: number, text: string, short: string}[],
 *   today: number,
 *   desc: string,
 * }} data
 * @returns {HTMLElement}
 */
export function bodyClockChart(data) {
  const box = h('div', { class: 'chart-box' });
  let drawn = 0;
  const draw = (width) => {
    const w = Math.max(260, Math.floor(width));
    if (w === drawn) return;
    drawn = w;
    box.replaceChildren(svgAt(data, w));
  };
  // Drawn first for the window's width (the screen is built off the page),
  // then again at the box's real width once it is shown.
  draw(Math.min(globalThis.innerWidth || 390, 1100) - 34);
  if (typeof ResizeObserver !== 'undefined') {
    new ResizeObserver((entries) => {
      const w = entries[0]?.contentRect.width;
      if (w > 0) draw(w);
    }).observe(box);
  }
  return box;
}

function svgAt(data, W) {
  const { days, series, marks, today } = data;
  const n = Math.max(days.length, 1);
  let top = 2;
  for (const p of series) for (const v of p.values) if (v != null) top = Math.max(top, v);
  const step = top <= 4 ? 1 : top <= 8 ? 2 : 3;
  top = Math.ceil(top / step) * step;
  const ticks = [];
  for (let v = 0; v <= top; v += step) ticks.push(v);
  const LEFT = Math.ceil(Math.max(...ticks.map((v) => measure(`${v} h`)))) + 12;
  const plotTop = 30;
  const plotH = W < 600 ? 120 : 180;
  const plotBottom = plotTop + plotH;
  const H = plotBottom + 32;
  const x = (i) => LEFT + ((i + 0.5) * (W - LEFT - RIGHT)) / n;
  const y = (v) => plotBottom - (v / top) * plotH;

  const titleId = uid('chart-title');
  const descId = uid('chart-desc');
  const svg = s('svg', {
    class: 'chart', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`,
  }, s('title', { id: titleId }, 'Hours of jet lag by day, for each person'), s('desc', { id: descId }, data.desc));

  // Every label's box, so that none is drawn over another.
  const boxes = [];
  const fits = (b) => b.x0 >= 0 && b.x1 <= W && !boxes.some((o) => b.x0 < o.x1 + GAP && o.x0 < b.x1 + GAP && b.y0 < o.y1 && o.y0 < b.y1);
  const label = (text, cx, baseline, { cls = 'tick', weight = 400, anchor = 'middle', lo = 0, hi = W, force = false } = {}) => {
    const w = measure(text, weight);
    let x0 = anchor === 'middle' ? cx - w / 2 : anchor === 'end' ? cx - w : cx;
    x0 = Math.max(lo, Math.min(x0, hi - w));
    const b = { x0, x1: x0 + w, y0: baseline - FONT, y1: baseline + FONT * 0.3 };
    if (!force && !fits(b)) return false;
    boxes.push(b);
    svg.append(s('text', { x: (x0).toFixed(1), y: baseline, class: cls, 'font-size': FONT }, text));
    return true;
  };

  // The hours, left of the plot.
  for (const v of ticks) {
    svg.append(s('line', { x1: LEFT, x2: W - RIGHT, y1: y(v), y2: y(v), class: v === 0 ? 'zero' : 'grid' }));
    label(`${v} h`, LEFT - 8, y(v) + FONT * 0.35, { anchor: 'end', force: true });
  }
  // Landings and today: a line down the plot, the words above it.
  const above = plotTop - 10;
  for (const m of marks) {
    svg.append(s('line', { x1: x(m.i), x2: x(m.i), y1: plotTop - 6, y2: plotBottom, class: 'mark' }));
  }
  if (today >= 0 && today < n) {
    svg.append(s('line', { x1: x(today), x2: x(today), y1: plotTop - 6, y2: plotBottom, class: 'today' }));
  }
  if (today >= 0 && today < n) label('Today', x(today), above, { cls: 'mark-label', weight: 600, lo: LEFT });
  for (const m of marks) {
    label(m.text, x(m.i), above, { cls: 'mark-label', weight: 600, lo: LEFT }) || label(m.short, x(m.i), above, { cls: 'mark-label', weight: 600, lo: LEFT });
  }

  // Dates below the plot: the landings', the first and last, then as many
  // others as fit without touching.
  const first = [...marks.map((m) => m.i), 0, n - 1];
  if (today >= 0 && today < n) first.push(today);
  const tried = new Set();
  const dateAt = (i) => {
    if (tried.has(i) || !days[i]) return;
    tried.add(i);
    label(days[i].label, x(i), plotBottom + 20, { lo: 0 });
  };
  first.forEach(dateAt);
  for (let i = 0; i < n; i++) dateAt(i);

  // One line and a dot a day per person.
  for (const p of series) {
    const pts = [];
    p.values.forEach((v, i) => {
      if (v != null) pts.push([x(i), y(v), `${p.name}, ${days[i].label}: ${v < 1 ? 'in step (under 1 h)' : `${hoursText(v)} of jet lag`}`]);
    });
    if (!pts.length) continue;
    svg.append(s('path', { d: pts.map(([px, py], i) => `${i ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`).join(' '), class: 'series', stroke: p.color, 'stroke-dasharray': p.dash || null }));
    for (const [px, py, t] of pts) svg.append(s('circle', { cx: px.toFixed(1), cy: py.toFixed(1), r: 3.5, fill: p.color }, s('title', {}, t)));
  }
  return svg;
}

/** A short sample of a person's line, for the legend. */
export function lineSample(color, dash) {
  return s('svg', { width: 30, height: 10, 'aria-hidden': 'true', class: 'legend-line' },
    s('line', { x1: 1, x2: 29, y1: 5, y2: 5, stroke: color, 'stroke-width': 3, 'stroke-dasharray': dash || null }));
}

/** The chart's figures as a table, for screen readers and for reading off. */
export function chartTable(data) {
  return h('details', { class: 'chart-table' },
    h('summary', {}, 'Show as a table'),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('caption', {}, 'Hours of jet lag by day (0 h = in step with local time)'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Day'), data.series.map((p) => h('th', { scope: 'col' }, p.name)))),
      h('tbody', {}, data.days.map((d, i) => h('tr', {},
        h('th', { scope: 'row' }, d.long || d.label),
        data.series.map((p) => h('td', {}, p.values[i] == null ? '—' : hoursText(p.values[i])))))))));
}
