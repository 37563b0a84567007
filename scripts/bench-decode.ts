/**
 * The caption decoder alone, one request at a time against several in
 * lockstep (Captioner.captionMany, as the server batches concurrent
 * requests): ms per caption for each batch size, in one run so the ratios
 * hold on a noisy machine. The image is encoded once; only decoding is timed. Not a test.
 *
 *   npx tsx scripts/bench-decode.ts --image photo.jpg [--sizes 1,2,4,8,16] [--mode beam] [--beam-size 3]
 */
import { readFile } from 'node:fs/promises';
import { cli } from '../src/cli/main.js';
import { CaptionService } from '../src/caption/service.js';
import { DEFAULT_CAPTION_SEARCH, type CaptionSearchOptions } from '../src/caption/options.js';
import { encodeImageWithDetections } from '../src/encoder/pixels.js';
import { log } from '../src/log.js';
import { initBackend } from '../src/nn/backend.js';
import { chooseRuntime } from '../src/onnx/runtime.js';
import { loadConfig } from '../src/app/config.js';

const args = cli({
  usage: 'npx tsx scripts/bench-decode.ts',
  summary: 'ms per caption of the decoder alone: one request at a time against N in lockstep (one batch per step).',
  example: 'npx tsx scripts/bench-decode.ts --image photo.jpg --sizes 1,4,16',
  options: {
    image: { type: 'string', required: true, placeholder: 'file', description: 'a photo to caption' },
    sizes: { type: 'string', default: '1,2,4,8,16', placeholder: 'list', description: 'captions decoded together, comma-separated' },
    mode: { type: 'string', default: 'beam', placeholder: 'mode', description: 'greedy, beam or sample' },
    'beam-size': { type: 'number', int: true, min: 1, max: 20, default: 3, description: 'beam width' },
    rounds: { type: 'number', int: true, min: 1, default: 40, description: 'captions timed per size and way' },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder' },
  },
});
const sizes = args.sizes.split(',').map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 256)) throw new Error('--sizes: whole numbers from 1 to 256, comma-separated');
if (!['greedy', 'beam', 'sample'].includes(args.mode)) throw new Error('--mode: greedy, beam or sample');

const config = loadConfig({ ...process.env, MODELS_DIR: args.models, LOG_LEVEL: 'warn' });
log.level = config.LOG_LEVEL;
await initBackend(config.TF_BACKEND);
const choice = await chooseRuntime(config.INFERENCE_RUNTIME);
const service = await CaptionService.load(config.MODELS_DIR, undefined, { runtime: choice });
const model = service.model;
if (!model.captionMany) throw new Error(`the ${model.kind} captioner cannot decode in lockstep`);
const many = model.captionMany.bind(model);
const { features, detections } = await encodeImageWithDetections(service.encoder, await readFile(args.image), undefined, model.minScore);
const image = { features: (await features.data()) as Float32Array, objects: detections?.objects ?? [] };
features.dispose();
const opts: CaptionSearchOptions = {
  ...DEFAULT_CAPTION_SEARCH,
  mode: args.mode as CaptionSearchOptions['mode'],
  beamSize: args['beam-size'],
};

/** ms per caption of `run`, which decodes `n` captions, over about `rounds` captions (after one warm-up). */
function perCaption(n: number, run: () => void): number {
  run();
  const reps = Math.max(1, Math.round(args.rounds / n));
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  return (performance.now() - t0) / reps / n;
}

console.log(`${model.name} (decoder on ${model.runtime}), mode ${opts.mode}, beam ${opts.beamSize}, image ${args.image}`);
const rows = sizes.map((n) => {
  const items = Array.from({ length: n }, () => ({ image, opts }));
  const alone = perCaption(n, () => items.forEach((it) => model.caption(it.image, it.opts)));
  const lockstep = perCaption(n, () => {
    for (const r of many(items)) if (r instanceof Error) throw r;
  });
  return {
    captions: n,
    'one by one ms/caption': +alone.toFixed(2),
    'lockstep ms/caption': +lockstep.toFixed(2),
    speedup: +(alone / lockstep).toFixed(2),
  };
});
console.table(rows);
service.dispose();
