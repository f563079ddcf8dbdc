// The body-clock chart: each person's predicted core-temperature minimum
// (the low point of the body clock) in local time, day by day, beside
// where it would lie for someone who lives there; and below, the gap
// between the two shrinking to zero. It is the picture that makes a plan
// believable.

import { s, uid } from './dom.js';
import { clock } from './time.js';

const RIGHT = 16;
const TOP = { y0: 34, y1: 224 };
const BOTTOM = { y0: 272, y1: 392 };
const H = 430;

/** Hours after local midnight of an instant in its zone. */
function hoursOf(iso, tz) {
  const [hh, mm] = clock(iso, tz).split(':').map(Number);
  return hh + mm / 60;
}

/** Clock hours from 18:00 (top) round to 18:00 (bottom): nights sit mid-chart. */
function clockY(h) {
  const v = (((h - 18) % 24) + 24) % 24;
  return TOP.y0 + (v / 24) * (TOP.y1 - TOP.y0);
}

/**
 * Draws the chart.
 * @param {{key: string, label: string}[]} days the columns of the timeline
 * @param {{name: string, color: string, modelled: boolean, days: Map<string, any>}[]} people
 * @returns {SVGSVGElement}
 */
export function bodyClockChart(days, people, narrow = globalThis.matchMedia?.('(max-width: 600px)').matches) {
  // Wide for a desktop; narrower on a phone, so that the text stays
  // readable when the drawing shrinks to the screen.
  const W = narrow ? 420 : 760;
  const LEFT = narrow ? 50 : 64;
  const titleId = uid('chart-title');
  const descId = uid('chart-desc');
  const shown = people.filter((p) => p.modelled && [...p.days.values()].some((d) => d.cbt_min));
  const step = (W - LEFT - RIGHT) / Math.max(days.length, 1);
  const x = (i) => LEFT + (i + 0.5) * step;
  let worst = 3;
  for (const p of shown) for (const d of p.days.values()) if (d.misalignment_h != null) worst = Math.max(worst, Math.abs(d.misalignment_h));
  worst = Math.ceil(worst);
  const misY = (m) => BOTTOM.y0 + ((worst - m) / (2 * worst)) * (BOTTOM.y1 - BOTTOM.y0);

  const desc = shown.length
    ? shown.map((p) => `${p.name}: ${summary(days, p)}`).join(' ')
    : 'No one on this trip has a modelled body clock (babies under six months are not modelled).';
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: narrow ? 'chart narrow' : 'chart', role: 'img', 'aria-labelledby': `${titleId} ${descId}` },
    s('title', { id: titleId }, 'Body clock by day: low point in local time, and how far it is from local time'),
    s('desc', { id: descId }, desc));

  // Axes and grid.
  svg.append(s('text', { x: LEFT, y: 18, class: 'chart-head' }, narrow ? 'Body-clock low point, local time' : 'Body-clock low point (local time) — dashed: where it belongs here'));
  for (const h of [18, 22, 2, 6, 10, 14]) {
    const y = clockY(h);
    svg.append(s('line', { x1: LEFT, x2: W - RIGHT, y1: y, y2: y, class: 'grid' }),
      s('text', { x: LEFT - 8, y: y + 4, class: 'tick', 'text-anchor': 'end' }, `${String(h).padStart(2, '0')}:00`));
  }
  svg.append(s('text', { x: LEFT, y: BOTTOM.y0 - 16, class: 'chart-head' }, narrow ? 'Gap to local time, hours' : 'Gap between body clock and local time (hours)'));
  const tick = worst > 6 ? 3 : worst > 3 ? 2 : 1;
  for (let m = -Math.floor(worst / tick) * tick; m <= worst; m += tick) {
    const y = misY(m);
    svg.append(s('line', { x1: LEFT, x2: W - RIGHT, y1: y, y2: y, class: m === 0 ? 'zero' : 'grid' }),
      s('text', { x: LEFT - 8, y: y + 4, class: 'tick', 'text-anchor': 'end' }, m > 0 ? `+${m}` : String(m)));
  }
  svg.append(s('text', { x: W - RIGHT, y: BOTTOM.y0 + 12, class: 'tick', 'text-anchor': 'end' }, 'body clock behind ↑'),
    s('text', { x: W - RIGHT, y: BOTTOM.y1 - 4, class: 'tick', 'text-anchor': 'end' }, 'body clock ahead ↓'));
  const every = Math.ceil(days.length / (narrow ? 5 : 10));
  days.forEach((d, i) => {
    if (i % every === 0) svg.append(s('text', { x: x(i), y: H - 14, class: 'tick', 'text-anchor': 'middle' }, d.label));
  });

  // One line per person in each panel.
  for (const p of shown) {
    const clockPts = [];
    const targetPts = [];
    const gapPts = [];
    days.forEach((d, i) => {
      const day = p.days.get(d.key);
      if (!day?.cbt_min) return;
      const h = hoursOf(day.cbt_min, day.tz);
      clockPts.push([x(i), clockY(h), `${p.name}, ${d.label}: body-clock low at ${clock(day.cbt_min, day.tz)}`]);
      if (day.misalignment_h != null) {
        targetPts.push([x(i), clockY(h - day.misalignment_h)]);
        gapPts.push([x(i), misY(day.misalignment_h), `${p.name}, ${d.label}: ${gapText(day.misalignment_h)}`]);
      }
    });
    svg.append(s('path', { d: path(targetPts), class: 'target', stroke: p.color }));
    svg.append(s('path', { d: path(clockPts), class: 'series', stroke: p.color }));
    svg.append(s('path', { d: path(gapPts, false), class: 'series', stroke: p.color }));
    for (const [px, py, t] of [...clockPts, ...gapPts]) {
      svg.append(s('circle', { cx: px, cy: py, r: 4, fill: p.color }, s('title', {}, t)));
    }
  }
  return svg;
}

/** A path through points, broken where the clock wraps round. */
function path(pts, wraps = true) {
  let d = '';
  pts.forEach(([px, py], i) => {
    const jump = i > 0 && wraps && Math.abs(py - pts[i - 1][1]) > (TOP.y1 - TOP.y0) / 2;
    d += `${i === 0 || jump ? 'M' : 'L'}${px.toFixed(1)},${py.toFixed(1)} `;
  });
  return d.trim() || 'M0,0';
}

function gapText(m) {
  if (Math.abs(m) < 0.25) return 'in step with local time';
  return `${Math.abs(m).toFixed(1)} h ${m > 0 ? 'behind' : 'ahead of'} local time`;
}

function summary(days, p) {
  const list = days.map((d) => p.days.get(d.key)).filter((d) => d?.misalignment_h != null);
  if (!list.length) return 'no prediction.';
  const first = list[0];
  const last = list[list.length - 1];
  return `starts ${gapText(first.misalignment_h)} and ends ${gapText(last.misalignment_h)}.`;
}

/** Distinct colours that read on the dark background. */
export const COLORS = ['#7cc4ff', '#ffb86b', '#9be59b', '#f49ac1', '#d6c3ff', '#ffe27a', '#7fe3d8', '#ff8f8f'];
