/**
 * Which side should CenterNet's detection head run at? On a COCO captions
 * set with its photos (coco-dev: 80 photos × 5 captions) this prints, per
 * setting: class recall against the classes ≥ 2 reference captions name
 * (src/grounding word table), precision of the detected classes at each score
 * threshold, and the median time per image for features + detections.
 * Not a test.
 *
 *   npx tsx scripts/bench-detect-size.ts --captions ../shared/data/coco-dev/captions.json --images ../shared/data/coco-dev/images
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { cli } from '../src/cli/main.js';
import { loadCaptions } from '../src/data/captions.js';
import { CENTERNET_DETECT_SIZE, CENTERNET_INPUT_SIZE, loadCenterNet, type CenterNetEncoder } from '../src/encoder/centernet.js';
import { rgbBatch } from '../src/encoder/pixels.js';
import type { DetectedObject } from '../src/encoder/types.js';
import { mentionedClasses, scoreDetections } from '../src/grounding/recall.js';
import { defaultWordTable } from '../src/grounding/words.js';
import { decodeToRgb } from '../src/image/decode.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const args = cli({
  usage: 'npx tsx scripts/bench-detect-size.ts',
  summary: 'CenterNet detection size vs class recall/precision against reference captions, and time per image.',
  example: 'npx tsx scripts/bench-detect-size.ts --captions ../shared/data/coco-dev/captions.json --images ../shared/data/coco-dev/images',
  options: {
    captions: { type: 'string', required: true, placeholder: 'file', description: 'COCO captions file' },
    images: { type: 'string', required: true, placeholder: 'dir', description: 'folder of its photos' },
    sizes: { type: 'string', default: '224,320,416,512', placeholder: 'list', description: 'detection sides to compare (multiples of 32)' },
    thresholds: { type: 'string', default: '0.2,0.3,0.4', placeholder: 'list', description: 'score thresholds to report' },
    minCaptions: {
      type: 'number',
      int: true,
      min: 1,
      default: 2,
      description: 'captions that must name a class for it to count as present',
    },
    limit: { type: 'number', int: true, min: 1, description: 'only the first N images' },
  },
});
const list = (s: string) => s.split(',').map(Number);
const sizes = list(args.sizes);
const thresholds = list(args.thresholds);
if ([...sizes, ...thresholds].some((v) => !Number.isFinite(v))) throw new Error('--sizes and --thresholds take comma-separated numbers');

await initBackend(parseBackendName(process.env.TF_BACKEND));
const table = defaultWordTable();
let images = await loadCaptions(args.captions);
if (args.limit) images = images.slice(0, args.limit);
const photos = await Promise.all(images.map((img) => readFile(path.join(args.images, img.file))));
const mentioned = images.map((img) => mentionedClasses(table, img.captions, args.minCaptions));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const S = CENTERNET_INPUT_SIZE;

interface Setting {
  name: string;
  /** Features + detections of one photo; returns the objects and the milliseconds spent. */
  run(photo: Buffer): Promise<{ objects: DetectedObject[]; ms: number }>;
  dispose(): void;
}

/**
 * The photo decoded at `size` (a second decode unless 224) and detected at that
 * side; features from a separate 224 pass unless size is 224.
 */
async function native(size: number): Promise<Setting> {
  const detector = await loadCenterNet(undefined, size, size);
  const features = size === S ? detector : await loadCenterNet(undefined, S, S);
  const run = async (photo: Buffer) => {
    const t0 = performance.now();
    const x = rgbBatch(await decodeToRgb(photo, S));
    if (size === S) {
      const { objects } = await detector.encodeAndDetect(x, 0);
      x.dispose();
      return { objects, ms: performance.now() - t0 };
    }
    const f = features.encode(x);
    await f.data();
    f.dispose();
    x.dispose();
    const y = rgbBatch(await decodeToRgb(photo, size));
    const [objects] = await detector.detect(y, 0);
    y.dispose();
    return { objects: objects!, ms: performance.now() - t0 };
  };
  return { name: size === S ? `${size} (one pass)` : `${size}`, run, dispose: () => [detector, features].forEach((d) => d.dispose()) };
}

/**
 * The photo decoded once at 224 (the encoders' size) and bilinearly upsampled
 * to `size` for the head; 512 is today's setting (CENTERNET_DETECT_SIZE).
 */
async function upsampled(size: number): Promise<Setting> {
  const detector: CenterNetEncoder = await loadCenterNet(undefined, S, size);
  return {
    name: `${S}→${size}${size === CENTERNET_DETECT_SIZE ? ' (current)' : ''}`,
    run: async (photo) => {
      const t0 = performance.now();
      const x = rgbBatch(await decodeToRgb(photo, S));
      const { objects } = await detector.encodeAndDetect(x, 0);
      x.dispose();
      return { objects, ms: performance.now() - t0 };
    },
    dispose: () => detector.dispose(),
  };
}

/** Features only (what POST /caption pays today for the centernet part). */
async function featuresOnly(): Promise<number> {
  const encoder = await loadCenterNet(undefined, S, S);
  const times: number[] = [];
  for (const photo of photos) {
    const t0 = performance.now();
    const x = rgbBatch(await decodeToRgb(photo, S));
    const f = encoder.encode(x);
    await f.data();
    tf.dispose([x, f]);
    times.push(performance.now() - t0);
  }
  encoder.dispose();
  return median(times.slice(1));
}

const mentions = mentioned.reduce((n, m) => n + m.size, 0);
console.log(
  `${images.length} images, ${mentions} class mentions (classes named by ≥ ${args.minCaptions} of the captions), backend ${tf.getBackend()}`,
);
console.log(`features only (decode ${S} + backbone): median ${(await featuresOnly()).toFixed(0)} ms/image`);
console.log(['setting', 'median ms', ...thresholds.flatMap((t) => [`R@${t}`, `P@${t}`]), 'R@0.1'].join('\t'));
// Loaded one at a time: each holds its own copy of the graph.
const makers = [...sizes.filter((s) => s > S).map((s) => () => upsampled(s)), ...sizes.map((s) => () => native(s))];
for (const make of makers) {
  const setting = await make();
  const times: number[] = [];
  const found: DetectedObject[][] = [];
  for (const photo of photos) {
    const { objects, ms } = await setting.run(photo);
    found.push(objects);
    times.push(ms);
  }
  setting.dispose();
  const at = (t: number) =>
    scoreDetections(
      found.map((objects, i) => ({ mentioned: mentioned[i]!, detected: new Set(objects.filter((o) => o.score >= t).map((o) => o.label)) })),
    );
  const cells = thresholds.flatMap((t) => {
    const s = at(t);
    return [s.recall.toFixed(3), s.precision.toFixed(3)];
  });
  // The first image pays for the graph's warm-up: left out of the median.
  console.log([setting.name, median(times.slice(1)).toFixed(0), ...cells, at(0.1).recall.toFixed(3)].join('\t'));
}
