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
 * Then the served encoder, mobilenet_v2+centernet on onnxruntime, on the photos
 * in --images (one per call, in turn): encodeAndDetect (today's vector and
 * detections) against encodeWithRegions (the same and the regions, each CNN run
 * once), timed the same way; their ratio is what regions add to a request.
 *
 *   npx tsx scripts/bench-grid.ts [--runs 10] [--rounds 5] [--batch 1] [--images ../shared/data/coco-dev/images]
 */
import * as tf from '@tensorflow/tfjs';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cli } from '../src/cli/main.js';
import { loadMobileNet } from '../src/encoder/mobilenet.js';
import { loadOrtMobileNet } from '../src/encoder/ort.js';
import { encodeFeatures, rgbBatch } from '../src/encoder/pixels.js';
import { REGION_ENCODER, roiAveragePool, type Box } from '../src/encoder/regions.js';
import { loadEncoder } from '../src/encoder/registry.js';
import { decodeToRgb } from '../src/image/decode.js';
import { initBackend } from '../src/nn/backend.js';
import { chooseRuntime } from '../src/onnx/runtime.js';

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
    images: {
      type: 'string',
      default: 'test/fixtures/photos',
      placeholder: 'dir',
      description: 'photos for encodeAndDetect against encodeWithRegions (e.g. ../shared/data/coco-dev/images)',
    },
    limit: { type: 'number', int: true, min: 1, max: 1000, default: 20, description: 'at most this many of those photos' },
    minScore: { type: 'number', min: 0, max: 1, default: 0.1, description: 'detection floor of those calls (the region cache’s)' },
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

// The served combination, and the photos it takes in turn (each variant keeps its own turn, so all see the same photos).
const served = await loadEncoder(REGION_ENCODER, args.models, await chooseRuntime('onnx'));
const files = (await readdir(args.images))
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort()
  .slice(0, args.limit);
const photos = await Promise.all(files.map(async (f) => rgbBatch(await decodeToRgb(await readFile(path.join(args.images, f)), 224))));
const turns = new Map<string, number>();
const nextPhoto = (variant: string) => {
  const k = turns.get(variant) ?? 0;
  turns.set(variant, k + 1);
  return photos[k % photos.length]!;
};
let objects = 0;

const variants: Record<string, () => Promise<unknown>> = {
  'tfjs features': () => encodeFeatures(tfjs, x),
  'tfjs features+grid': () => tfjs.encodeWithGrid!(x),
  'ort features': () => encodeFeatures(ort, x),
  'ort features+grid': () => ort.encodeWithGrid!(x),
  'roiAveragePool 10+1 regions': () => Promise.resolve(roiAveragePool(grid, S_h, S_w, C, boxes)),
  [`${REGION_ENCODER} encodeAndDetect`]: () => served.encodeAndDetect!(nextPhoto('detect'), args.minScore),
  [`${REGION_ENCODER} encodeWithRegions`]: async () => {
    const out = await served.encodeWithRegions!(nextPhoto('regions'), args.minScore);
    objects += out.objects.length;
    return out;
  },
};
/** Per image: the mobilenet variants take --batch images a call, the rest one (a photo, or one grid to pool). */
const perCall = (name: string) => (name.startsWith('ort') || name.startsWith('tfjs') ? args.batch : 1);
const perRound: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (const run of Object.values(variants)) await run(); // warm-up
for (let r = 0; r < args.rounds; r++) {
  for (const [name, run] of Object.entries(variants)) {
    const t0 = performance.now();
    for (let i = 0; i < args.runs; i++) await run();
    perRound[name]!.push((performance.now() - t0) / args.runs / perCall(name));
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const quantile = (v: number[], q: number) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) * q)]!;
const ms = Object.fromEntries(Object.entries(perRound).map(([k, v]) => [k, median(v)]));
console.log(
  `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), tfjs backend ${backend}, batch ${args.batch}; ` +
    `${photos.length} photos from ${args.images} at min score ${args.minScore}`,
);
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
const pairs: [string, string, string, string][] = [
  ['the grid', 'tfjs', 'tfjs features', 'tfjs features+grid'],
  ['the grid', 'onnxruntime', 'ort features', 'ort features+grid'],
  ['regions', REGION_ENCODER, `${REGION_ENCODER} encodeAndDetect`, `${REGION_ENCODER} encodeWithRegions`],
];
for (const [what, runtime, base, withGrid] of pairs) {
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
    diffs.push((g - b) / perCall(base));
  }
  console.log(
    `${what} adds ${median(diffs).toFixed(2)} ms/img on ${runtime} (paired, ${diffs.length} pairs; ` +
      `quartiles ${quantile(diffs, 0.25).toFixed(2)} .. ${quantile(diffs, 0.75).toFixed(2)}), ` +
      `against ${ms[base]!.toFixed(2)} ms/img without`,
  );
}
x.dispose();
const [detectMs, regionsMs] = [ms[`${REGION_ENCODER} encodeAndDetect`]!, ms[`${REGION_ENCODER} encodeWithRegions`]!];
console.log(
  `${REGION_ENCODER}: encodeWithRegions / encodeAndDetect = ${(regionsMs / detectMs).toFixed(3)} ` +
    `(${regionsMs.toFixed(2)} / ${detectMs.toFixed(2)} ms/img, median rounds; ${(objects / (turns.get('regions') ?? 1)).toFixed(1)} regions + the whole image per photo)`,
);
tf.dispose(photos);
served.dispose();
tfjs.dispose();
ort.dispose();
