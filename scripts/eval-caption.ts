/**
 * Score a caption model on a captions file (COCO or Karpathy format):
 * BLEU-1..4, ROUGE-L, CIDEr-D as coco-caption computes them.
 *
 *   npm run eval:caption -- --captions captions_val.json (--features FILE | --images DIR)
 *     [--model models/caption] [--split val] [--mode beam] [--beam-size 3] [--results out.json]
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { progress } from '../src/cli/progress.js';
import { CaptionModel } from '../src/caption/model.js';
import { CaptionOptionsSchema, toCaptionSearchOptions } from '../src/caption/options.js';
import { loadCaptions } from '../src/data/captions.js';
import { readFeatureSet } from '../src/data/features.js';
import { loadEncoder } from '../src/encoder/registry.js';
import { evaluateCaptions, type FeatureSource } from '../src/eval/caption-eval.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { formatZodError } from '../src/util/zod-error.js';

const { values } = parseArgs({
  options: {
    captions: { type: 'string' },
    features: { type: 'string' },
    images: { type: 'string' },
    model: { type: 'string', default: 'models/caption' },
    models: { type: 'string', default: 'models' },
    split: { type: 'string', default: 'val' },
    mode: { type: 'string' },
    'beam-size': { type: 'string' },
    'length-penalty': { type: 'string' },
    'max-length': { type: 'string' },
    limit: { type: 'string' },
    results: { type: 'string' },
  },
});
const args = z
  .object({
    captions: z.string({ required_error: '--captions FILE is required' }),
    features: z.string().optional(),
    images: z.string().optional(),
    model: z.string(),
    models: z.string(),
    split: z.string(),
    limit: z.coerce.number().int().positive().optional(),
    results: z.string().optional(),
  })
  .refine((a) => Boolean(a.features) !== Boolean(a.images), { message: 'give exactly one of --features FILE or --images DIR' })
  .parse(values);
// The caption options and their limits are the /caption route's (src/caption/options.ts); one caption per image.
const parsedSearch = CaptionOptionsSchema.safeParse({
  mode: values.mode,
  beam_size: values['beam-size'],
  length_penalty: values['length-penalty'],
  max_length: values['max-length'],
});
if (!parsedSearch.success) {
  console.error(formatZodError(parsedSearch.error));
  process.exit(2);
}
const search = toCaptionSearchOptions(parsedSearch.data, () => 0); // sample mode: a fixed seed, so scores repeat

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const model = await CaptionModel.load(args.model);
let images = await loadCaptions(args.captions, args.split.split(','));
if (args.limit) images = images.slice(0, args.limit);
let source: FeatureSource;
if (args.features) {
  const features = await readFeatureSet(args.features);
  if (features.encoder !== model.config.encoder) {
    throw new Error(`features were made by ${features.encoder}; the model needs ${model.config.encoder}`);
  }
  source = { kind: 'cache', features };
} else {
  source = { kind: 'images', dir: args.images!, encoder: await loadEncoder(model.config.encoder, args.models) };
}
const bar = progress('eval', images.length);
const started = Date.now();
const { scores, results, skipped } = await evaluateCaptions(
  model,
  images,
  source,
  search,
  (done) => bar.update(done),
);
bar.stop();
if (args.results) await writeFile(args.results, JSON.stringify(results));
log.info({ backend, model: model.config.name, images: results.length, skipped, mode: search.mode, beamSize: search.beamSize, seconds: (Date.now() - started) / 1000 }, 'evaluation done');
console.log(JSON.stringify(scores, null, 1));
