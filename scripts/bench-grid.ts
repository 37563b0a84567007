/**
 * What MobileNetV2's 7×7×1280 feature grid (issue 21's region features) costs
 * beside the pooled vector served today, on tfjs and on onnxruntime (CPU): each
 * runtime's features alone against features + grid from the same forward pass
 * (the grid read back to JavaScript), and roiAveragePool of 10 boxes + the
 * whole image on it. Variants are interleaved over rounds and the median round
 * is reported, so a noisy shared machine moves them alike; then each runtime's
 * calls with and without the grid in alternating pairs, whose median difference
 * is the grid's cost.
 *
 *   npx tsx scripts/bench-grid.ts [--runs 10] [--rounds 5] [--batch 1]
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { cli } from '../src/cli/main.js';
import { loadMobileNet } from '../src/encoder/mobilenet.js';
import { loadOrtMobileNet } from '../src/encoder/ort.js';
import { encodeFeatures } from '../src/encoder/pixels.js';
import { roiAveragePool, type Box } from '../src/encoder/regions.js';
import { initBackend } from '../src/nn/backend.js';

const args = cli({
  usage: 'npx tsx scripts/bench-grid.ts',
  summary:
    "ms/image of MobileNetV2's features alone and with its 7×7×1280 grid, on tfjs and onnxruntime (CPU), and of pooling 10 boxes on the grid.",
  example: 'npx tsx scripts/bench-grid.ts --runs 10 --rounds 5',
  options: {
    runs: { type: 'number', int: true, min: 1, max: 1000, default: 10, description: 'timed calls per variant per round' },
    rounds: { type: 'number', int: true, min: 1, max: 100, default: 5, description: 'interleaved rounds (the median is reported)' },
    batch: { type: 'number', int: true, min: 1, max: 64, default: 1, description: 'images per call' },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder' },
  },
});

const backend = await initBackend();
// The served encoders: features alone through encodeFeatures, features + grid through encodeWithGrid.
const tfjs = await loadMobileNet(args.models);
const ort = await loadOrtMobileNet(args.models);
const x = tf.randomUniform([args.batch, 224, 224, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
const first = await ort.encodeWithGrid!(x);
const [S_h, S_w, C] = first.gridShape;
const grid = first.grid.slice(0, S_h * S_w * C);
let seed = 1;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const boxes: Box[] = Array.from({ length: 10 }, () => [rand() * 0.7, rand() * 0.7, 0.05 + rand() * 0.3, 0.05 + rand() * 0.3]);

const variants: Record<string, () => Promise<unknown>> = {
  'tfjs features': () => encodeFeatures(tfjs, x),
  'tfjs features+grid': () => tfjs.encodeWithGrid!(x),
  'ort features': () => encodeFeatures(ort, x),
  'ort features+grid': () => ort.encodeWithGrid!(x),
  'roiAveragePool 10+1 regions': () => Promise.resolve(roiAveragePool(grid, S_h, S_w, C, boxes)),
};
const perRound: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (const run of Object.values(variants)) await run(); // warm-up
for (let r = 0; r < args.rounds; r++) {
  for (const [name, run] of Object.entries(variants)) {
    const t0 = performance.now();
    for (let i = 0; i < args.runs; i++) await run();
    perRound[name]!.push((performance.now() - t0) / args.runs / (name.startsWith('roi') ? 1 : args.batch));
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const quantile = (v: number[], q: number) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) * q)]!;
const ms = Object.fromEntries(Object.entries(perRound).map(([k, v]) => [k, median(v)]));
console.log(`${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), tfjs backend ${backend}, batch ${args.batch}`);
console.table(
  Object.entries(perRound).map(([k, v]) => ({
    variant: k,
    'median ms/img': +ms[k]!.toFixed(2),
    'min round': +Math.min(...v).toFixed(2),
    'max round': +Math.max(...v).toFixed(2),
  })),
);
// Paired: each call with the grid timed right beside one without (order alternating), so
// load that drifts between rounds cancels; the median of the differences is the grid's cost.
const pairs: [string, string, string][] = [
  ['tfjs', 'tfjs features', 'tfjs features+grid'],
  ['onnxruntime', 'ort features', 'ort features+grid'],
];
for (const [runtime, base, withGrid] of pairs) {
  const diffs: number[] = [];
  const time = async (name: string) => {
    const t0 = performance.now();
    await variants[name]!();
    return performance.now() - t0;
  };
  for (let i = 0; i < args.runs * args.rounds; i++) {
    let b: number;
    let g: number;
    if (i % 2) {
      b = await time(base);
      g = await time(withGrid);
    } else {
      g = await time(withGrid);
      b = await time(base);
    }
    diffs.push((g - b) / args.batch);
  }
  console.log(
    `grid adds ${median(diffs).toFixed(2)} ms/img on ${runtime} (paired, ${diffs.length} pairs; ` +
      `quartiles ${quantile(diffs, 0.25).toFixed(2)} .. ${quantile(diffs, 0.75).toFixed(2)}), ` +
      `against ${ms[base]!.toFixed(2)} ms/img without`,
  );
}
x.dispose();
tfjs.dispose();
ort.dispose();
