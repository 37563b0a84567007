import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  boxGeometry,
  CLASS_DIM,
  GEOMETRY_DIM,
  regionClassScores,
  regionDescriptor,
  regionDescriptors,
  regionDim,
  roiAveragePool,
  type Box,
} from '../../src/encoder/regions.js';
import { boxColour, COLOUR_DIM } from '../../src/encoder/colour.js';
import { MOBILENET_FEATURE_LAYER } from '../../src/encoder/mobilenet.js';
import { COCO_LABELS, type DetectedObject } from '../../src/encoder/types.js';
import { classScores } from '../../src/grounding/entries.js';
import { initBackend } from '../../src/nn/backend.js';
import { rng } from '../../src/util/random.js';

/** A 6×8 photo of random pixels, for the colour part of the descriptors. */
const IMAGE = { data: Float32Array.from({ length: 6 * 8 * 3 }, rng(21)).map((v) => v * 255), height: 6, width: 8 };

function randomGrid(S_h: number, S_w: number, C: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: S_h * S_w * C }, () => rand() * 4 - 1);
}

/** grid[i, j, :]. */
function cell(grid: Float32Array, S_w: number, C: number, i: number, j: number): number[] {
  return [...grid.subarray((i * S_w + j) * C, (i * S_w + j + 1) * C)];
}

/** The mean of some cells, channel by channel. */
function meanOf(rows: number[][]): number[] {
  return rows[0]!.map((_, c) => rows.reduce((s, r) => s + r[c]!, 0) / rows.length);
}

function row(pooled: Float32Array, C: number, k: number): number[] {
  return [...pooled.subarray(k * C, (k + 1) * C)];
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst).toBeLessThan(tolerance);
}

/**
 * The brute-force reference: split every cell into n × n sub-cells, each carrying
 * its cell's features, and average the sub-cells whose centres fall in the box.
 * Only the image's sub-cells exist, so the box is clipped for free. Exact (up to
 * rounding) for boxes whose edges lie on the sub-cell lattice, as the random
 * boxes below do.
 */
function bruteForce(grid: Float32Array, S_h: number, S_w: number, C: number, box: Box, n: number): number[] {
  const [x, y, w, h] = box;
  const acc = new Float64Array(C);
  let count = 0;
  for (let v = 0; v < S_h * n; v++) {
    const py = (v + 0.5) / (S_h * n);
    if (py < y || py > y + h) continue;
    for (let u = 0; u < S_w * n; u++) {
      const px = (u + 0.5) / (S_w * n);
      if (px < x || px > x + w) continue;
      const at = (Math.floor(v / n) * S_w + Math.floor(u / n)) * C;
      for (let c = 0; c < C; c++) acc[c]! += grid[at + c]!;
      count++;
    }
  }
  return [...acc].map((s) => s / count);
}

describe('roiAveragePool', () => {
  it('matches a brute-force supersampled average on random grids and boxes (some partly outside the image)', () => {
    const rand = rng(21);
    const n = 16; // sub-cells per cell side
    let outside = 0;
    for (const [S_h, S_w, C] of [
      [7, 7, 5],
      [5, 9, 3],
      [3, 4, 8],
      [1, 6, 2],
    ] as const) {
      const grid = randomGrid(S_h, S_w, C, rand);
      // Box edges on the sub-cell lattice, from -0.25 to 1.25 of the image; at least one sub-cell inside.
      const lattice = (S: number) => Math.round((rand() * 1.5 - 0.25) * S * n) / (S * n);
      const boxes: Box[] = [];
      while (boxes.length < 25) {
        const [xa, xb] = [lattice(S_w), lattice(S_w)].sort((a, b) => a - b) as [number, number];
        const [ya, yb] = [lattice(S_h), lattice(S_h)].sort((a, b) => a - b) as [number, number];
        if (Math.min(xb, 1) - Math.max(xa, 0) <= 0 || Math.min(yb, 1) - Math.max(ya, 0) <= 0) continue;
        if (xa < 0 || ya < 0 || xb > 1 || yb > 1) outside++;
        boxes.push([xa, ya, xb - xa, yb - ya]);
      }
      const pooled = roiAveragePool(grid, S_h, S_w, C, boxes);
      expect(pooled.length).toBe((boxes.length + 1) * C);
      boxes.forEach((box, k) => expectClose(row(pooled, C, k), bruteForce(grid, S_h, S_w, C, box, n), 1e-4));
      expectClose(row(pooled, C, boxes.length), bruteForce(grid, S_h, S_w, C, [0, 0, 1, 1], n), 1e-4);
    }
    expect(outside).toBeGreaterThan(10); // the clipping was exercised
  });

  it("makes the whole-image region MobileNetV2's pooled vector: the model's own pooling layer on a 7×7×1280 grid", async () => {
    // The encoder serves flatten_1 = Flatten(AveragePooling2D(out_relu)); check that is a global average of a 7×7 grid.
    const json = JSON.parse(readFileSync('models/encoder/mobilenet_v2/model.json', 'utf8')) as {
      modelTopology: {
        model_config: {
          config: { layers: { class_name: string; name: string; config: Record<string, unknown>; inbound_nodes: [string][][] }[] };
        };
      };
    };
    const layers = json.modelTopology.model_config.config.layers;
    const byName = (name: string) => layers.find((l) => l.name === name)!;
    const flatten = byName(MOBILENET_FEATURE_LAYER);
    const pool = byName(flatten.inbound_nodes[0]![0]![0]);
    expect(pool.class_name).toBe('AveragePooling2D');
    expect(pool.inbound_nodes[0]![0]![0]).toBe('out_relu');
    expect(pool.config).toMatchObject({ pool_size: [7, 7], strides: [7, 7], padding: 'valid' });

    await initBackend();
    const rand = rng(7);
    const [S, C] = [7, 1280];
    const grid = Float32Array.from({ length: S * S * C }, () => rand() * 6); // out_relu's range: ReLU6
    const layer = tf.layers.averagePooling2d({
      poolSize: pool.config.pool_size as [number, number],
      strides: pool.config.strides as [number, number],
      padding: 'valid',
    });
    const expected = tf.tidy(() => (layer.apply(tf.tensor4d(grid, [1, S, S, C])) as tf.Tensor).reshape([C]).dataSync());
    const pooled = roiAveragePool(grid, S, S, C, [[0.1, 0.2, 0.3, 0.4]]);
    expectClose(row(pooled, C, 1), expected, 1e-5);
    // A box covering the grid (or more) is the same pool as the whole-image region.
    expectClose(roiAveragePool(grid, S, S, C, [[-0.5, -0.5, 2, 2]]).subarray(0, C), expected, 1e-5);
  });

  it('averages exactly the covered cells for boxes on cell edges', () => {
    const [S_h, S_w, C] = [7, 7, 4];
    const grid = randomGrid(S_h, S_w, C, rng(3));
    // Rows 1..2, columns 2..4.
    const pooled = roiAveragePool(grid, S_h, S_w, C, [
      [2 / 7, 1 / 7, 3 / 7, 2 / 7],
      [0, 0, 1 / 7, 1 / 7],
      [6 / 7, 6 / 7, 1 / 7, 1 / 7],
    ]);
    const cells: number[][] = [];
    for (let i = 1; i <= 2; i++) for (let j = 2; j <= 4; j++) cells.push(cell(grid, S_w, C, i, j));
    expectClose(row(pooled, C, 0), meanOf(cells), 1e-6);
    expectClose(row(pooled, C, 1), cell(grid, S_w, C, 0, 0), 1e-6);
    expectClose(row(pooled, C, 2), cell(grid, S_w, C, 6, 6), 1e-6);
  });

  it('weights a box straddling cells by the area it covers in each', () => {
    const [S_h, S_w, C] = [2, 2, 1];
    const grid = Float32Array.of(1, 2, 3, 4); // rows [1, 2], [3, 4]
    // x from 0.25 to 0.75 of the image: half a cell on either side; y in row 0 only.
    expect(roiAveragePool(grid, S_h, S_w, C, [[0.25, 0, 0.5, 0.5]])[0]).toBeCloseTo(1.5, 6);
    // x 0.25..0.75 (0.5 cell each side), y 0.25..1 (0.5 cell in row 0, 1 in row 1): (0.25·1 + 0.25·2 + 0.5·3 + 0.5·4) / 1.5.
    expect(roiAveragePool(grid, S_h, S_w, C, [[0.25, 0.25, 0.5, 0.75]])[0]).toBeCloseTo(4.25 / 1.5, 6);
    // Mostly in cell (0, 0): x 0.1..1.1 cells (0.9 in column 0, 0.1 in column 1), y 0.1..0.5 (row 0).
    expect(roiAveragePool(grid, S_h, S_w, C, [[0.05, 0.05, 0.5, 0.2]])[0]).toBeCloseTo((0.36 * 1 + 0.04 * 2) / 0.4, 6);
  });

  it("gives a box inside one cell that cell's features, however small", () => {
    const [S_h, S_w, C] = [7, 7, 6];
    const grid = randomGrid(S_h, S_w, C, rng(5));
    const inCell = (i: number, j: number, size: number): Box => [(j + 0.3) / 7, (i + 0.6) / 7, size / 7, size / 7];
    const pooled = roiAveragePool(grid, S_h, S_w, C, [inCell(3, 4, 0.2), inCell(0, 6, 1e-6), inCell(6, 0, 0.35)]);
    expectClose(row(pooled, C, 0), cell(grid, S_w, C, 3, 4), 1e-6);
    expectClose(row(pooled, C, 1), cell(grid, S_w, C, 0, 6), 1e-6);
    expectClose(row(pooled, C, 2), cell(grid, S_w, C, 6, 0), 1e-6);
  });

  it('falls back to the nearest cell for empty boxes, continuously with thin ones', () => {
    const [S_h, S_w, C] = [7, 7, 3];
    const grid = randomGrid(S_h, S_w, C, rng(9));
    const pooled = roiAveragePool(grid, S_h, S_w, C, [
      [0.5, 0.5, 0, 0], // a point in cell (3, 3)
      [3 / 7, 2 / 7, 0, 0], // a point on a corner: the cell after it on each axis
      [1, 1, 0, 0], // the image's far corner: the last cell
      [1.3, -0.4, 0.2, 0.1], // wholly outside (right of, above the image): the nearest edge cell
      [0.3, 0.45, -0.1, 0.1], // negative width: empty at its clipped start
      [(2 + 0.5) / 7, 1 / 7, 0, 3 / 7], // zero width: the column segment it lies on (rows 1..3 of column 2)
      [(2 + 0.5) / 7, 1 / 7, 1e-9, 3 / 7], // … as a thin box's limit
    ]);
    expectClose(row(pooled, C, 0), cell(grid, S_w, C, 3, 3), 1e-6);
    expectClose(row(pooled, C, 1), cell(grid, S_w, C, 2, 3), 1e-6);
    expectClose(row(pooled, C, 2), cell(grid, S_w, C, 6, 6), 1e-6);
    expectClose(row(pooled, C, 3), cell(grid, S_w, C, 0, 6), 1e-6);
    expectClose(row(pooled, C, 4), cell(grid, S_w, C, 3, 2), 1e-6);
    const column = meanOf([1, 2, 3].map((i) => cell(grid, S_w, C, i, 2)));
    expectClose(row(pooled, C, 5), column, 1e-6);
    expectClose(row(pooled, C, 6), column, 1e-6);
    expect([...pooled].every(Number.isFinite)).toBe(true);
  });

  it('clips boxes partly outside the image: the same pool as the box cut to [0, 1]', () => {
    const [S_h, S_w, C] = [7, 7, 5];
    const grid = randomGrid(S_h, S_w, C, rng(11));
    const pooled = roiAveragePool(grid, S_h, S_w, C, [
      [-0.5, 0.2, 1, 0.3],
      [0, 0.2, 0.5, 0.3],
      [0.6, 0.7, 0.9, 0.8],
      [0.6, 0.7, 0.4, 0.3],
    ]);
    expectClose(row(pooled, C, 0), row(pooled, C, 1), 1e-6);
    expectClose(row(pooled, C, 2), row(pooled, C, 3), 1e-6);
    // Not merely the whole-image average, nor the unclipped box's area spread thin.
    expect(Math.max(...row(pooled, C, 0).map((v, c) => Math.abs(v - pooled[4 * C + c]!)))).toBeGreaterThan(1e-3);
  });

  it('refuses a grid of the wrong size and non-finite boxes', () => {
    expect(() => roiAveragePool(new Float32Array(10), 2, 2, 3, [])).toThrow(/12/);
    expect(() => roiAveragePool(new Float32Array(12), 2, 2, 3, [[0, Number.NaN, 1, 1]])).toThrow(/finite/);
  });
});

describe('boxGeometry', () => {
  it('is x1, y1, x2, y2, w, h, area of the box clipped to the image', () => {
    expectClose(boxGeometry([0.1, 0.2, 0.3, 0.5]), [0.1, 0.2, 0.4, 0.7, 0.3, 0.5, 0.15], 1e-6);
    expectClose(boxGeometry([-0.2, 0.5, 0.6, 0.8]), [0, 0.5, 0.4, 1, 0.4, 0.5, 0.2], 1e-6);
    expectClose(boxGeometry([0, 0, 1, 1]), [0, 0, 1, 1, 1, 1, 1], 1e-12);
    expectClose(boxGeometry([1.2, 0.3, 0.1, 0.1]), [1, 0.3, 1, 0.4, 0, 0.1, 0], 1e-6);
    expect(boxGeometry([0.1, 0.1, 0.1, 0.1]).length).toBe(GEOMETRY_DIM);
  });
});

describe('regionDescriptor(s)', () => {
  const objects: DetectedObject[] = [
    { label: 'dog', classId: 16, score: 0.9, box: [0.1, 0.2, 0.3, 0.4] },
    { label: 'person', classId: 0, score: 0.7, box: [0.5, 0, 0.5, 1] },
    { label: 'dog', classId: 16, score: 0.6, box: [0.6, 0.6, 0.2, 0.2] },
  ];

  it('scores a detection one-hot at its class and the whole image with each class best', () => {
    const one = regionClassScores([objects[0]!]);
    expect(one.length).toBe(CLASS_DIM);
    expect(CLASS_DIM).toBe(COCO_LABELS.length);
    expect(one[16]).toBeCloseTo(0.9, 6);
    expect([...one].filter((v) => v !== 0)).toHaveLength(1);
    const all = regionClassScores(objects);
    expect(all[16]).toBeCloseTo(0.9, 6);
    expect(all[0]).toBeCloseTo(0.7, 6);
    expect([...all].filter((v) => v !== 0)).toHaveLength(2);
    expect([...all]).toEqual([...classScores(objects)]); // the scene vector the grounded and VQA decoders read
    expect(() => regionClassScores([{ ...objects[0]!, classId: 80 }])).toThrow(/COCO/);
  });

  it('concatenates pooled features, geometry, colour and class scores in that order', () => {
    const pooled = Float32Array.of(5, 6, 7);
    const geometry = boxGeometry([0.1, 0.2, 0.3, 0.4]);
    const colour = Float32Array.from({ length: COLOUR_DIM }, (_, k) => k / 10);
    const scores = regionClassScores([objects[1]!]);
    const d = regionDescriptor(pooled, geometry, colour, scores);
    expect(d.length).toBe(3 + GEOMETRY_DIM + COLOUR_DIM + CLASS_DIM);
    expect(regionDim(3)).toBe(d.length);
    expect([...d.subarray(0, 3)]).toEqual([5, 6, 7]);
    expect([...d.subarray(3, 3 + GEOMETRY_DIM)]).toEqual([...geometry]);
    expect([...d.subarray(3 + GEOMETRY_DIM, 3 + GEOMETRY_DIM + COLOUR_DIM)]).toEqual([...colour]);
    expect([...d.subarray(3 + GEOMETRY_DIM + COLOUR_DIM)]).toEqual([...scores]);
    expect(() => regionDescriptor(pooled, scores, colour, geometry)).toThrow(/geometry/);
    expect(() => regionDescriptor(pooled, geometry, scores, colour)).toThrow(/colour/);
  });

  it("lays out one row per detection, in order, then the whole image's", () => {
    const [S_h, S_w, C] = [7, 7, 4];
    const grid = randomGrid(S_h, S_w, C, rng(13));
    const D = regionDim(C);
    const rows = regionDescriptors(grid, S_h, S_w, C, objects, IMAGE);
    expect(rows.length).toBe((objects.length + 1) * D);
    const pooled = roiAveragePool(
      grid,
      S_h,
      S_w,
      C,
      objects.map((o) => o.box),
    );
    const regions: [Box, DetectedObject[]][] = [...objects.map((o): [Box, DetectedObject[]] => [o.box, [o]]), [[0, 0, 1, 1], objects]];
    regions.forEach(([box, its], k) => {
      const expected = [...row(pooled, C, k), ...boxGeometry(box), ...boxColour(IMAGE, box), ...regionClassScores(its)];
      expect([...rows.subarray(k * D, (k + 1) * D)]).toEqual(expected);
    });
    // The last row: global average pool, the whole image's geometry, each class's best score.
    const last = rows.subarray(objects.length * D);
    const cells: number[][] = [];
    for (let i = 0; i < S_h; i++) for (let j = 0; j < S_w; j++) cells.push(cell(grid, S_w, C, i, j));
    expectClose(last.subarray(0, C), meanOf(cells), 1e-6);
    expect([...last.subarray(C, C + GEOMETRY_DIM)]).toEqual([0, 0, 1, 1, 1, 1, 1]);
    expect(last[C + GEOMETRY_DIM + COLOUR_DIM + 16]).toBeCloseTo(0.9, 6);
    // No detections: the whole image alone, with zero class scores.
    const alone = regionDescriptors(grid, S_h, S_w, C, [], IMAGE);
    expect(alone.length).toBe(D);
    expect([...alone.subarray(C + GEOMETRY_DIM + COLOUR_DIM)].every((v) => v === 0)).toBe(true);
  });
});
