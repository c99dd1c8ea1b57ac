/** Axes for the widgets' SVG drawings: a plot area, its scales, ticks and labels. */
import { s } from './dom.js';
import { formatNumber, linearScale, niceTicks, type Scale } from './plot.js';

export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly x: Scale;
  readonly y: Scale;
}

/** Room for the tick labels, and for the axes' names beside them (never over the drawing). */
export const MARGIN = { left: 52, right: 14, top: 22, bottom: 40 };

/** Scales of `xDomain` and `yDomain` onto a `width` × `height` drawing with room for the axes. */
export function frame(width: number, height: number, xDomain: readonly [number, number], yDomain: readonly [number, number]): Frame {
  const x = linearScale(xDomain, [MARGIN.left, width - MARGIN.right]);
  const y = linearScale(yDomain, [height - MARGIN.bottom, MARGIN.top]);
  return { width, height, x, y };
}

/**
 * The axes' lines, grid, ticks and labels: the x axis's name under its tick labels at the right,
 * the y axis's above the plot area at the left. `xTicks`: the part of the x domain to put ticks in.
 */
export function axes(f: Frame, labels: { x?: string; y?: string; xTicks?: readonly [number, number] } = {}): SVGGElement {
  const g = s('g', { class: 'axes', 'aria-hidden': 'true' });
  const [x0, x1] = f.x.range;
  const [y0, y1] = f.y.range;
  for (const t of niceTicks(f.y.domain[0], f.y.domain[1], 4)) {
    const py = f.y(t);
    g.append(s('line', { class: 'gridline', x1: x0, x2: x1, y1: py, y2: py }));
    g.append(s('text', { x: x0 - 6, y: py + 4, 'text-anchor': 'end' }, formatNumber(t, 3)));
  }
  const [tx0, tx1] = labels.xTicks ?? f.x.domain;
  for (const t of niceTicks(tx0, tx1, 6)) {
    const px = f.x(t);
    g.append(s('line', { class: 'axis', x1: px, x2: px, y1: y0, y2: y0 + 4 }));
    g.append(s('text', { x: px, y: y0 + 16, 'text-anchor': 'middle' }, formatNumber(t, 3)));
  }
  g.append(s('path', { class: 'axis', d: `M${x0},${y1}V${y0}H${x1}` }));
  if (labels.x !== undefined) g.append(s('text', { class: 'label', x: x1, y: y0 + 33, 'text-anchor': 'end' }, labels.x));
  if (labels.y !== undefined) g.append(s('text', { class: 'label', x: x0 - 6, y: y1 - 9, 'text-anchor': 'end' }, labels.y));
  return g;
}
