import { z } from 'zod';

/**
 * Training curves as SVG, from the `training.history` a trainer records in a
 * model's config.json. One module for the server (the page's models view) and
 * scripts/report.ts (the SVG files beside the model cards), so both draw the
 * same picture. Pure string building: no DOM, no file access.
 */

/** One line of a chart: (epoch, value) points in epoch order. */
export interface Series {
  label: string;
  points: readonly (readonly [number, number])[];
  /** Whether a larger value is better (marks the best point). */
  higherIsBetter: boolean;
}

export interface TrainingCurves {
  loss: Series;
  val: Series;
}

// The val metric each trainer selects its best model by; the first one present in the history is drawn.
const VAL_METRICS: readonly { key: string; label: string; higherIsBetter: boolean }[] = [
  { key: 'ciderD', label: 'val CIDEr-D', higherIsBetter: true },
  { key: 'accuracy', label: 'val accuracy', higherIsBetter: true },
  { key: 'nats', label: 'val nats/char', higherIsBetter: false },
];

// Trainers before the shared loop wrote `trainLoss` (char) where the loop writes `loss`.
const HistorySchema = z.array(
  z
    .object({
      epoch: z.number(),
      loss: z.number().optional(),
      trainLoss: z.number().optional(),
      val: z.record(z.unknown()),
    })
    .passthrough(),
);

const TrainingSchema = z.object({ history: HistorySchema }).passthrough();

/** The loss and val-metric series of a training record, or undefined when it has no usable history. */
export function trainingCurves(training: unknown): TrainingCurves | undefined {
  const parsed = TrainingSchema.safeParse(training);
  if (!parsed.success || parsed.data.history.length === 0) return undefined;
  const history = parsed.data.history;
  const metric = VAL_METRICS.find((m) => history.some((h) => typeof h.val[m.key] === 'number'));
  if (!metric) return undefined;
  const loss: [number, number][] = [];
  const val: [number, number][] = [];
  for (const h of history) {
    const l = h.loss ?? h.trainLoss;
    if (l !== undefined && Number.isFinite(l)) loss.push([h.epoch, l]);
    const v = h.val[metric.key];
    if (typeof v === 'number' && Number.isFinite(v)) val.push([h.epoch, v]);
  }
  if (loss.length === 0 && val.length === 0) return undefined;
  return {
    loss: { label: 'train loss', points: loss, higherIsBetter: false },
    val: { label: metric.label, points: val, higherIsBetter: metric.higherIsBetter },
  };
}

/** About `count` round tick values covering [min, max] (steps of 1, 2 or 5 × 10^k). */
export function niceTicks(min: number, max: number, count = 4): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** The best point of a series: its index, or -1 when empty. */
export function bestIndex(s: Series): number {
  let best = -1;
  s.points.forEach(([, y], i) => {
    const b = s.points[best]?.[1];
    if (b === undefined || (s.higherIsBetter ? y > b : y < b)) best = i;
  });
  return best;
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A value printed with about three significant digits. */
export function fmt(x: number): string {
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(2);
  return String(Number(x.toPrecision(3)));
}

/** One sentence per series, for the SVG's <desc> and the page's alt text. */
export function describeCurves(c: TrainingCurves): string {
  return [c.loss, c.val]
    .filter((s) => s.points.length > 0)
    .map((s) => {
      const first = s.points[0]!;
      const last = s.points[s.points.length - 1]!;
      const best = s.points[bestIndex(s)]!;
      return `${s.label} ${fmt(first[1])} at epoch ${first[0]} to ${fmt(last[1])} at epoch ${last[0]}, best ${fmt(best[1])} at epoch ${best[0]}.`;
    })
    .join(' ');
}

const PANEL_W = 300;
const PANEL_H = 200;
const PAD = { left: 46, right: 16, top: 28, bottom: 34 };
const COLOURS = { loss: '#1f5fa8', val: '#b3541e' };

function panel(s: Series, x0: number, colour: string): string {
  const out: string[] = [`<g transform="translate(${x0},0)">`];
  out.push(`<text x="${PAD.left}" y="18" font-size="13" font-weight="600" fill="${colour}">${escapeXml(s.label)}</text>`);
  const w = PANEL_W - PAD.left - PAD.right;
  const h = PANEL_H - PAD.top - PAD.bottom;
  if (s.points.length === 0) {
    out.push(`<text x="${PAD.left}" y="${PAD.top + h / 2}" font-size="12" fill="#555">not recorded</text></g>`);
    return out.join('');
  }
  const xs = s.points.map((p) => p[0]);
  const ys = s.points.map((p) => p[1]);
  const yTicks = niceTicks(Math.min(...ys), Math.max(...ys), 4);
  const yLo = Math.min(...ys, ...yTicks);
  const yHi = Math.max(...ys, ...yTicks);
  const xLo = Math.min(...xs);
  const xHi = Math.max(...xs);
  const px = (x: number) => PAD.left + (xHi === xLo ? w / 2 : ((x - xLo) / (xHi - xLo)) * w);
  const py = (y: number) => PAD.top + (yHi === yLo ? h / 2 : (1 - (y - yLo) / (yHi - yLo)) * h);
  const r = (v: number) => v.toFixed(1);
  // Axes and grid.
  out.push(`<line x1="${PAD.left}" y1="${PAD.top + h}" x2="${PAD.left + w}" y2="${PAD.top + h}" stroke="#444"/>`);
  out.push(`<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + h}" stroke="#444"/>`);
  for (const t of yTicks) {
    out.push(`<line x1="${PAD.left}" y1="${r(py(t))}" x2="${PAD.left + w}" y2="${r(py(t))}" stroke="#ddd"/>`);
    out.push(`<text x="${PAD.left - 5}" y="${r(py(t) + 4)}" font-size="11" text-anchor="end" fill="#333">${fmt(t)}</text>`);
  }
  const xTicks = niceTicks(xLo, xHi, Math.min(6, xs.length)).filter((t) => Number.isInteger(t));
  for (const t of xTicks) {
    out.push(`<text x="${r(px(t))}" y="${PAD.top + h + 15}" font-size="11" text-anchor="middle" fill="#333">${t}</text>`);
  }
  out.push(`<text x="${PAD.left + w / 2}" y="${PANEL_H - 4}" font-size="11" text-anchor="middle" fill="#333">epoch</text>`);
  // The line, its points, and the best point ringed.
  const path = s.points.map(([x, y]) => `${r(px(x))},${r(py(y))}`).join(' ');
  out.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
  for (const [x, y] of s.points) out.push(`<circle cx="${r(px(x))}" cy="${r(py(y))}" r="2.5" fill="${colour}"/>`);
  const best = s.points[bestIndex(s)]!;
  out.push(`<circle cx="${r(px(best[0]))}" cy="${r(py(best[1]))}" r="5.5" fill="none" stroke="${colour}" stroke-width="1.5"/>`);
  out.push('</g>');
  return out.join('');
}

/** Both curves side by side in one SVG document (scales to its container through viewBox). */
export function curvesSvg(c: TrainingCurves, title: string): string {
  const width = PANEL_W * 2;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${PANEL_H}" width="${width}" height="${PANEL_H}" role="img" font-family="system-ui, sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    `<desc>${escapeXml(describeCurves(c))}</desc>`,
    `<rect width="${width}" height="${PANEL_H}" fill="#fff"/>`,
    panel(c.loss, 0, COLOURS.loss),
    panel(c.val, PANEL_W, COLOURS.val),
    '</svg>',
    '',
  ].join('\n');
}
