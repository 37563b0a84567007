/**
 * Extract encoder features for every image in a folder into one cache file.
 *
 *   npm run features -- --images DIR --out FILE [--encoder mobilenet_v2] [--workers 2] [--list captions.json]
 *
 * With --detections (an encoder with centernet in it) the same forward pass also
 * yields the detected COCO objects, stored in the cache next to the features;
 * --labels-out FILE also writes them as JSON {[file_name]: [{label, score, count}]}.
 *
 * With --regions it writes a region cache instead (src/data/regions.ts): each image's
 * region descriptors, MobileNetV2's 7×7 grid pooled inside CenterNet's boxes (at most
 * --max-regions, score ≥ --min-score) plus the whole image. They come from the serving
 * encoder's own method (mobilenet_v2+centernet's encodeWithRegions, whatever --encoder
 * says), so the cache holds what the server computes.
 *
 * With --workers N the images are split across N worker threads (the wasm
 * backend uses one core per thread).
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cli } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { tsWorker } from '../src/util/ts-worker.js';
import { writeFeatureSet } from '../src/data/features.js';
import { writeRegionSet } from '../src/data/regions.js';
import { CLASS_DIM, GEOMETRY_DIM, REGION_ENCODER, REGION_MAX_OBJECTS } from '../src/encoder/regions.js';
import { COLOUR_DIM } from '../src/encoder/colour.js';
import { DEFAULT_MIN_SCORE, labelsOf } from '../src/encoder/centernet.js';
import type { DetectedObject } from '../src/encoder/types.js';
import type { FeatureMessage } from '../src/encoder/feature-worker.js';
import { log } from '../src/log.js';

const args = cli({
  usage: 'npm run features --',
  summary: 'Extract encoder features for every image in a folder into one cache file.',
  example: 'npm run features -- --images ../shared/data/flickr8k/images --out .cache/flickr8k.mobilenet_v2.feat --workers 2',
  notes: 'Encoders: mobilenet_v2, centernet, or both joined with "+" (mobilenet_v2+centernet).',
  options: {
    images: { type: 'string', required: true, placeholder: 'dir', description: 'folder of images' },
    out: { type: 'string', required: true, output: 'file', description: 'feature cache to write' },
    encoder: { type: 'string', default: 'mobilenet_v2', description: 'image encoder' },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder (encoder weights)' },
    workers: { type: 'number', int: true, min: 1, max: 16, default: 1, description: 'worker threads (wasm: one core per thread)' },
    limit: { type: 'number', int: true, min: 1, description: 'only the first N images (sorted by name)' },
    detections: { type: 'boolean', description: 'with centernet: store the detected COCO objects in the cache too' },
    minScore: {
      type: 'number',
      min: 0,
      max: 1,
      default: DEFAULT_MIN_SCORE,
      description: 'with --detections or --regions: lowest detection score kept',
    },
    labelsOut: { type: 'string', output: 'file', description: 'with centernet: also write the detected COCO objects as JSON' },
    regions: {
      type: 'boolean',
      description: `write a region cache instead (${REGION_ENCODER}: mobilenet_v2 grid pooled in centernet boxes, the whole image last)`,
    },
    maxRegions: {
      type: 'number',
      int: true,
      min: 1,
      max: REGION_MAX_OBJECTS, // the encoder's pass gives regions for at most this many detections
      default: REGION_MAX_OBJECTS,
      description: 'with --regions: most detections kept per image',
    },
  },
});

const IMAGE_EXT = /\.(jpe?g|png|webp|gif|tiff?|avif)$/i;
let files = (await readdir(args.images)).filter((f) => IMAGE_EXT.test(f)).sort();
if (args.limit) files = files.slice(0, args.limit);
if (files.length === 0) throw new Error(`no images found in ${args.images}`);

const started = Date.now();
const bar = progress('features', files.length, 15);
let done = 0;
let dim = 0;
const rows = new Map<string, Float32Array>();
const regionRows = new Map<string, Float32Array>();
const detected = new Map<string, DetectedObject[]>();
const wantDetections = args.detections === true || args.labelsOut !== undefined;

const chunks = Array.from({ length: args.workers }, (_, w) => files.filter((_, i) => i % args.workers === w));
await Promise.all(
  chunks.map(
    (chunk) =>
      new Promise<void>((resolve, reject) => {
        const worker = tsWorker(new URL('../src/encoder/feature-worker.js', import.meta.url), {
          workerData: {
            files: chunk.map((f) => path.join(args.images, f)),
            encoder: args.regions ? REGION_ENCODER : args.encoder,
            models: args.models,
            labels: wantDetections,
            minScore: args.minScore,
            ...(args.regions ? { regions: { maxRegions: args.maxRegions } } : {}),
          },
        });
        worker.on('message', (msg: FeatureMessage) => {
          rows.set(path.basename(msg.file), msg.features);
          if (msg.objects) detected.set(path.basename(msg.file), msg.objects);
          if (msg.regions) regionRows.set(path.basename(msg.file), msg.regions);
          dim = msg.features.length;
          bar.update(++done, { img_per_s: done / ((Date.now() - started) / 1000) });
        });
        worker.on('error', reject);
        worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
      }),
  ),
);
bar.stop();

const keys = files.filter((f) => rows.has(f));
if (args.regions) {
  const dim = regionRows.get(keys[0]!)!.length / (detected.get(keys[0]!)!.length + 1);
  const data = new Float32Array(keys.reduce((n, k) => n + regionRows.get(k)!.length, 0));
  let at = 0;
  for (const k of keys) {
    data.set(regionRows.get(k)!, at);
    at += regionRows.get(k)!.length;
  }
  await writeRegionSet(args.out, {
    encoder: REGION_ENCODER,
    dim,
    grid: [7, 7, dim - GEOMETRY_DIM - COLOUR_DIM - CLASS_DIM],
    minScore: args.minScore,
    maxRegions: args.maxRegions,
    keys,
    detections: keys.map((k) => detected.get(k)!),
    data,
  });
  log.info({ out: args.out, images: keys.length, dim, rows: data.length / dim, seconds: (Date.now() - started) / 1000 }, 'regions written');
  process.exit(0);
}
const data = new Float32Array(keys.length * dim);
keys.forEach((k, i) => data.set(rows.get(k)!, i * dim));
const detections = args.detections ? keys.map((k) => detected.get(k) ?? []) : undefined;
await writeFeatureSet(args.out, { encoder: args.encoder, dim, keys, data, ...(detections ? { detections } : {}) });
if (args.labelsOut) {
  await writeFile(args.labelsOut, JSON.stringify(Object.fromEntries(keys.map((k) => [k, labelsOf(detected.get(k) ?? [])]))));
  log.info({ out: args.labelsOut, images: detected.size }, 'labels written');
}
const seconds = (Date.now() - started) / 1000;
log.info({ out: args.out, images: keys.length, dim, seconds, img_per_s: keys.length / seconds }, 'features written');
