/**
 * Bottom-up regions (issue 21), first block: one image's CNN feature grid pooled
 * inside each detected box, plus the whole image as one more region, and each
 * region's descriptor (pooled features, box geometry, detector class scores).
 * Pure functions over Float32Arrays: no tfjs, the same on every runtime.
 *
 * Coordinates. A box is [x, y, w, h] in fractions of the image (DetectedObject's
 * box). The grid is one image's CNN output [S_h, S_w, C], channels-last and
 * row-major (grid[(i * S_w + j) * C + c], i the row from the top, j the column
 * from the left), as tfjs and the ONNX export lay out NHWC. Cell (i, j) covers
 * [j, j + 1] × [i, i + 1] in grid units, i.e. the image fractions
 * [j / S_w, (j + 1) / S_w] × [i / S_h, (i + 1) / S_h]: the CNN's strided grid
 * tiles the image (MobileNetV2: 224 px in, 7×7 out, one cell per 32×32 px).
 */
import { boxColour, COLOUR_DIM, type ImagePixels } from './colour.js';
import { COCO_LABELS, type DetectedObject } from './types.js';

/** The encoder whose pass gives regions: MobileNetV2's grid pooled in CenterNet's boxes. */
export const REGION_ENCODER = 'mobilenet_v2+centernet';

/**
 * The most detections an encoder pass gives regions for: encodeWithRegions keeps the
 * first (best-scoring) REGION_MAX_OBJECTS of the objects encodeAndDetect finds, so
 * one image is at most 17 regions with the whole image. It is also the region
 * cache's largest and default --max-regions, so a cache holds what serving computes.
 */
export const REGION_MAX_OBJECTS = 16;

/** An axis-aligned box: x, y, width, height as fractions of the image. */
export type Box = readonly [number, number, number, number];

/** The whole image as a box: the last region of roiAveragePool and regionDescriptors. */
export const WHOLE_IMAGE: Box = [0, 0, 1, 1];

/** Length of boxGeometry's descriptor: x1, y1, x2, y2, w, h, area. */
export const GEOMETRY_DIM = 7;
/** Length of a region's class scores: one per COCO class, CenterNet's class ids. */
export const CLASS_DIM = COCO_LABELS.length;

/** A box's side along one axis, clipped to the image and in grid units: [lo, hi], lo ≤ hi, within [0, S]. */
function clippedSpan(start: number, length: number, size: number): [number, number] {
  const lo = Math.min(Math.max(start, 0), 1) * size;
  const hi = Math.min(Math.max(start + length, 0), 1) * size;
  return hi > lo ? [lo, hi] : [lo, lo]; // negative length: empty at its clipped start
}

/**
 * The weight of each cell along one axis: the length of its overlap with [lo, hi].
 * An empty span (a degenerate box, or one wholly outside the image, clipped to an
 * edge) takes the cell it lies in, weight 1 — the limit of the overlap weights as
 * the span shrinks to a point; a point on a cell edge takes the cell after it,
 * and the image's far edge takes the last cell.
 */
function axisWeights(lo: number, hi: number, size: number): { first: number; weights: number[] } {
  if (hi <= lo) return { first: Math.min(Math.floor(lo), size - 1), weights: [1] };
  const first = Math.floor(lo);
  const last = Math.min(Math.ceil(hi), size) - 1;
  const weights: number[] = [];
  for (let k = first; k <= last; k++) weights.push(Math.min(hi, k + 1) - Math.max(lo, k));
  return { first, weights };
}

function checkBox(box: Box, at: string): void {
  if (box.length !== 4 || !box.every(Number.isFinite))
    throw new Error(`${at}: a box is 4 finite numbers [x, y, w, h]; got [${box.join(', ')}]`);
}

/**
 * RoI average pooling, area-weighted (no bilinear sampling): region k's feature is
 *
 *   Σ_ij a_ij · grid[i, j, :] / Σ_ij a_ij,   a_ij = |box ∩ cell(i, j)| in grid units (cells are 1×1),
 *
 * the mean of the feature map over the box when the map is taken as constant on
 * each cell. Hence: a box inside one cell gets that cell's features; a box on cell
 * edges averages exactly the cells it covers; a box covering the image is the
 * global average pool (the encoder's pooled vector, for MobileNetV2's 7×7×1280
 * out_relu grid). Boxes are clipped to [0, 1] first; a box with no area left
 * (zero or negative width or height, or wholly outside the image) falls back,
 * per empty axis, to the nearest cell (see axisWeights) — a zero-width box is
 * the average along its column segment, a point is one cell. Sums in float64.
 *
 * grid: [S_h, S_w, C] (see the file comment); boxes: K boxes [x, y, w, h], fractions.
 * Returns [K + 1, C] row-major: the K boxes in order, then the whole image (row K).
 */
export function roiAveragePool(grid: Float32Array, S_h: number, S_w: number, C: number, boxes: readonly Box[]): Float32Array {
  for (const [name, v] of [
    ['S_h', S_h],
    ['S_w', S_w],
    ['C', C],
  ] as const)
    if (!Number.isInteger(v) || v < 1) throw new Error(`roiAveragePool: ${name} must be a positive integer; got ${v}`);
  if (grid.length !== S_h * S_w * C)
    throw new Error(`roiAveragePool: the grid has ${grid.length} values; [${S_h}, ${S_w}, ${C}] needs ${S_h * S_w * C}`);
  const all = [...boxes, WHOLE_IMAGE];
  const out = new Float32Array(all.length * C);
  all.forEach((box, k) => {
    checkBox(box, `roiAveragePool: box ${k}`);
    const [x, y, w, h] = box;
    const cols = axisWeights(...clippedSpan(x, w, S_w), S_w);
    const rows = axisWeights(...clippedSpan(y, h, S_h), S_h);
    // The covered cells' offsets and areas, row-major; then each channel is summed over them in that
    // order, in a local (the same sums, in the same order, as cell by cell: this runs per request).
    const at: number[] = [];
    const area: number[] = [];
    let total = 0;
    rows.weights.forEach((wy, di) => {
      cols.weights.forEach((wx, dj) => {
        const a = wy * wx;
        if (a <= 0) return;
        total += a;
        at.push(((rows.first + di) * S_w + cols.first + dj) * C);
        area.push(a);
      });
    });
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let n = 0; n < at.length; n++) sum += area[n]! * grid[at[n]! + c]!;
      out[k * C + c] = sum / total;
    }
  });
  return out;
}

/**
 * A box's geometry, clipped to the image like its pooled features, as fractions:
 *
 *   [x1, y1, x2, y2, w, h, area]   (GEOMETRY_DIM = 7; the whole image is [0, 0, 1, 1, 1, 1, 1])
 *
 * - x1, y1, x2, y2: where the region is — left/right, above/below, touching an edge
 *   (both corners, so "left of" and "right of" are each one comparison away, as in
 *   bottom-up attention's 5-d spatial feature).
 * - w, h: its shape — tall or wide (x2 − x1 and y2 − y1 are in the corners, but a
 *   linear layer reads them directly here).
 * - area = w · h: how much of the image it is — a product no linear layer forms from
 *   w and h, and the best single cue to an object's salience in a caption.
 */
export function boxGeometry(box: Box): Float32Array {
  checkBox(box, 'boxGeometry');
  const [x, y, w, h] = box;
  const [x1, x2] = clippedSpan(x, w, 1);
  const [y1, y2] = clippedSpan(y, h, 1);
  const cw = x2 - x1;
  const ch = y2 - y1;
  return Float32Array.of(x1, y1, x2, y2, cw, ch, cw * ch);
}

/**
 * One region's class scores, [CLASS_DIM]: each class's best score among `objects`,
 * 0 for classes not detected. For a detected box (objects = [it]) that is its score
 * at its class and zeros elsewhere (one-hot-ish: a detector reports one class per
 * box). For the whole image (objects = all detections) it is each class's best
 * score — grounding's classScores, the scene vector the grounded and VQA decoders
 * already read — rather than zeros: the whole-image region then says what is in
 * the image, so a model attending to it alone still sees the objects; it is
 * already told apart from the boxes by its geometry [0, 0, 1, 1, 1, 1, 1].
 */
export function regionClassScores(objects: readonly DetectedObject[]): Float32Array {
  const d = new Float32Array(CLASS_DIM);
  for (const o of objects) {
    if (!Number.isInteger(o.classId) || o.classId < 0 || o.classId >= CLASS_DIM)
      throw new Error(`regionClassScores: class id ${o.classId} is not a COCO class (0..${CLASS_DIM - 1})`);
    d[o.classId] = Math.max(d[o.classId]!, o.score);
  }
  return d;
}

/**
 * One region's descriptor, [C + GEOMETRY_DIM + COLOUR_DIM + CLASS_DIM] (1280 + 7 + 14 + 80 = 1381 for MobileNetV2):
 *
 *   [0, C)                        pooled features (a row of roiAveragePool)
 *   [C, C + 7)                    boxGeometry: x1, y1, x2, y2, w, h, area
 *   [C + 7, C + 21)               boxColour: mean Lab and colour shares (src/encoder/colour.ts)
 *   [C + 21, C + 101)             class scores (regionClassScores), COCO class order — always last
 */
export function regionDescriptor(
  pooled: Float32Array,
  geometry: Float32Array,
  colour: Float32Array,
  classScores: Float32Array,
): Float32Array {
  if (geometry.length !== GEOMETRY_DIM) throw new Error(`regionDescriptor: geometry has ${geometry.length} values, not ${GEOMETRY_DIM}`);
  if (colour.length !== COLOUR_DIM) throw new Error(`regionDescriptor: colour has ${colour.length} values, not ${COLOUR_DIM}`);
  if (classScores.length !== CLASS_DIM)
    throw new Error(`regionDescriptor: class scores have ${classScores.length} values, not ${CLASS_DIM}`);
  const out = new Float32Array(pooled.length + GEOMETRY_DIM + COLOUR_DIM + CLASS_DIM);
  out.set(pooled, 0);
  out.set(geometry, pooled.length);
  out.set(colour, pooled.length + GEOMETRY_DIM);
  out.set(classScores, pooled.length + GEOMETRY_DIM + COLOUR_DIM);
  return out;
}

/** Width of a region descriptor over a grid of C channels. */
export function regionDim(C: number): number {
  return C + GEOMETRY_DIM + COLOUR_DIM + CLASS_DIM;
}

/**
 * Every region of one image: its K detections (in the order given), then the whole
 * image. Returns [K + 1, regionDim(C)] row-major, each row a regionDescriptor; row K
 * is the whole image (global average pool, geometry [0, 0, 1, 1, 1, 1, 1], the
 * whole photo's colour, each class's best score). `image` is the pixels the grid
 * was computed from (any size: boxes are fractions).
 */
export function regionDescriptors(
  grid: Float32Array,
  S_h: number,
  S_w: number,
  C: number,
  objects: readonly DetectedObject[],
  image: ImagePixels,
): Float32Array {
  const pooled = roiAveragePool(
    grid,
    S_h,
    S_w,
    C,
    objects.map((o) => o.box),
  );
  const D = regionDim(C);
  const out = new Float32Array((objects.length + 1) * D);
  const regions: [Box, readonly DetectedObject[]][] = [
    ...objects.map((o): [Box, DetectedObject[]] => [o.box, [o]]),
    [WHOLE_IMAGE, objects],
  ];
  regions.forEach(([box, its], k) => {
    out.set(regionDescriptor(pooled.subarray(k * C, (k + 1) * C), boxGeometry(box), boxColour(image, box), regionClassScores(its)), k * D);
  });
  return out;
}

/** Regions a decoder reads: its kept detections' rows, then the whole image's, as one [count, D] array. */
export interface SelectedRegions {
  /** [objects.length + 1, D] row-major: the kept detections in order, the whole image last. */
  rows: Float32Array;
  /** The detections kept, best first (row j describes objects[j]). */
  objects: DetectedObject[];
}

/**
 * From an image's regionDescriptors (its detections, then the whole image), the regions a
 * decoder reads: detections scoring ≥ minScore, at most `max`, in the given (best-first)
 * order, then the whole image — its class scores recomputed from the kept detections only,
 * so that it claims nothing the kept regions do not. Training (from the region cache) and
 * serving (from the encoder's pass) both select with this.
 */
export function selectRegions(rows: Float32Array, objects: readonly DetectedObject[], max: number, minScore: number): SelectedRegions {
  const D = rows.length / (objects.length + 1);
  if (!Number.isInteger(D)) throw new Error(`selectRegions: ${rows.length} values are not ${objects.length + 1} rows`);
  const kept = objects
    .map((o, j) => ({ o, j }))
    .filter(({ o }) => o.score >= minScore)
    .slice(0, max);
  const out = new Float32Array((kept.length + 1) * D);
  kept.forEach(({ j }, i) => out.set(rows.subarray(j * D, (j + 1) * D), i * D));
  const whole = out.subarray(kept.length * D, (kept.length + 1) * D);
  whole.set(rows.subarray(objects.length * D));
  whole.set(regionClassScores(kept.map(({ o }) => o)), D - CLASS_DIM);
  return { rows: out, objects: kept.map(({ o }) => o) };
}
