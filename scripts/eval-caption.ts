/**
 * Score a caption model on a captions file (COCO or Karpathy format):
 * BLEU-1..4, ROUGE-L, CIDEr-D as coco-caption computes them.
 */
import { writeFile } from 'node:fs/promises';
import { cli, UsageError } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { loadCaptioner, templateCaptioner } from '../src/caption/captioner.js';
import { evaluateCaptions, type FeatureSource } from '../src/caption/evaluate.js';
import { CaptionOptionsObject, CaptionOptionsSchema, toCaptionSearchOptions } from '../src/caption/options.js';
import { pickValues, schemaOptions } from '../src/cli/schema-options.js';
import { loadCaptions } from '../src/data/captions.js';
import { readFeatureSet } from '../src/data/features.js';
import { loadEncoder } from '../src/encoder/registry.js';
import { log } from '../src/log.js';
import { objectMentionTable, objectTableMarkdown } from '../src/grounding/object-mentions.js';
import { defaultWordTable } from '../src/grounding/words.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const searchFlags = schemaOptions(
  CaptionOptionsObject.pick({ mode: true, beam_size: true, length_penalty: true, max_length: true, temperature: true }),
);
const args = cli({
  usage: 'npm run eval:caption --',
  summary: 'Score a caption model on a captions file (COCO or Karpathy): BLEU-1..4, ROUGE-L, CIDEr-D as coco-caption computes them.',
  example: 'npm run eval:caption -- --captions captions_val.json --features .cache/flickr8k.both.feat --results runs/val-results.json',
  options: {
    captions: { type: 'string', required: true, placeholder: 'file', description: 'reference captions (COCO or Karpathy JSON)' },
    features: { type: 'string', placeholder: 'file', description: 'cached encoder features (give this or --images)' },
    images: { type: 'string', placeholder: 'dir', description: 'folder of images, encoded on the fly (give this or --features)' },
    model: {
      type: 'string',
      default: 'models/caption',
      placeholder: 'dir',
      description: 'caption model folder, or "template" for the detector-template baseline',
    },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder (encoder weights, for --images)' },
    split: { type: 'string', default: 'val', description: 'Karpathy splits to score' },
    ...searchFlags.options,
    limit: { type: 'number', int: true, min: 1, description: 'only the first N images' },
    results: { type: 'string', output: 'file', description: 'write the generated captions as COCO results JSON' },
    objects: { type: 'boolean', description: 'also print the object table (per class: named when the references name it, and when not)' },
  },
  defaults: searchFlags.defaults,
});
if (Boolean(args.features) === Boolean(args.images)) throw new UsageError('give exactly one of --features FILE or --images DIR');
// The caption options and their limits are the /caption route's; one caption per image, and in sample
// mode a fixed seed, so scores repeat.
const search = toCaptionSearchOptions(CaptionOptionsSchema.parse(pickValues(args, Object.keys(searchFlags.options))), () => 0);

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const model = args.model === 'template' ? templateCaptioner() : await loadCaptioner(args.model);
// The template reads only detections: any cache with them, or CenterNet on the images.
const encoderName = model.kind === 'template' ? 'centernet' : model.encoder;
let images = await loadCaptions(args.captions, args.split.split(','));
if (args.limit) images = images.slice(0, args.limit);
let source: FeatureSource;
if (args.features) {
  const features = await readFeatureSet(args.features);
  if (model.kind !== 'template' && features.encoder !== model.encoder) {
    throw new Error(`features were made by ${features.encoder}; the model needs ${model.encoder}`);
  }
  if (model.kind !== 'caption-lstm' && !features.detections) {
    throw new Error(`${args.features} has no detections; rebuild it with npm run features -- --detections --min-score ${model.minScore}`);
  }
  source = { kind: 'cache', features };
} else {
  source = { kind: 'images', dir: args.images!, encoder: await loadEncoder(encoderName, args.models) };
}
const bar = progress('eval', images.length);
const started = Date.now();
const { scores, results, skipped } = await evaluateCaptions(model, images, source, search, (done) => bar.update(done));
bar.stop();
if (args.results) await writeFile(args.results, JSON.stringify(results));
log.info(
  {
    backend,
    model: model.name,
    images: results.length,
    skipped,
    mode: search.mode,
    beamSize: search.beamSize,
    seconds: (Date.now() - started) / 1000,
  },
  'evaluation done',
);
console.log(JSON.stringify(scores, null, 1));
if (args.objects) {
  const byId = new Map(results.map((r) => [r.image_id, r.caption]));
  const rows = images.filter((img) => byId.has(img.id)).map((img) => ({ refs: img.captions, caption: byId.get(img.id)! }));
  console.log(objectTableMarkdown(objectMentionTable(defaultWordTable(), rows)));
}
