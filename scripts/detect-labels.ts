/**
 * Detect COCO objects with CenterNet in every image of a folder and write
 * {[file_name]: [{label, score, count}]} as JSON (one entry per class, best first).
 *
 *   npx tsx scripts/detect-labels.ts --images DIR --out FILE [--min-score 0.3] [--limit N]
 *
 * To get the labels together with CenterNet features from one forward pass,
 * use `scripts/features.ts --encoder centernet --labels-out FILE` instead.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cli } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { DEFAULT_MIN_SCORE, loadCenterNet, type ObjectLabel } from '../src/encoder/centernet.js';
import { decodeToRgb } from '../src/image/decode.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { rgbBatch } from '../src/encoder/pixels.js';

const args = cli({
  usage: 'npx tsx scripts/detect-labels.ts',
  summary: 'Detect COCO objects with CenterNet in every image of a folder and write {[file_name]: [{label, score, count}]} as JSON.',
  example: 'npx tsx scripts/detect-labels.ts --images ../shared/data/flickr8k/images --out .cache/flickr8k.labels.json',
  notes: 'For labels and CenterNet features from one forward pass: npm run features -- --encoder centernet --labels-out FILE.',
  options: {
    images: { type: 'string', required: true, placeholder: 'dir', description: 'folder of images' },
    out: { type: 'string', required: true, output: 'file', description: 'JSON file to write' },
    minScore: { type: 'number', min: 0, max: 1, default: DEFAULT_MIN_SCORE, description: 'lowest detection score kept' },
    limit: { type: 'number', int: true, min: 1, description: 'only the first N images (sorted by name)' },
  },
});

const IMAGE_EXT = /\.(jpe?g|png|webp|gif|tiff?|avif)$/i;
let files = (await readdir(args.images)).filter((f) => IMAGE_EXT.test(f)).sort();
if (args.limit) files = files.slice(0, args.limit);
if (files.length === 0) throw new Error(`no images found in ${args.images}`);

await initBackend(parseBackendName(process.env.TF_BACKEND));
const detector = await loadCenterNet();
const size = detector.inputSize;
const started = Date.now();
const bar = progress('labels', files.length, 15);
const out: Record<string, ObjectLabel[]> = {};
for (const [i, file] of files.entries()) {
  const rgb = await decodeToRgb(await readFile(path.join(args.images, file)), size);
  const x = rgbBatch(rgb);
  out[file] = await detector.detectLabels(x, args.minScore);
  x.dispose();
  bar.update(i + 1, { img_per_s: (i + 1) / ((Date.now() - started) / 1000) });
}
bar.stop();
detector.dispose();
await writeFile(args.out, JSON.stringify(out));
log.info({ out: args.out, images: files.length, seconds: (Date.now() - started) / 1000 }, 'labels written');
