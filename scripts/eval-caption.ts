/**
 * Score a caption model on a captions file (COCO or Karpathy format):
 * BLEU-1..4, ROUGE-L, CIDEr-D as coco-caption computes them; with --chair also
 * CHAIR (object hallucination against COCO instance annotations), for the
 * model and, as a sanity check, for the human references. An attention model
 * reads a region cache (--regions) and reports its sentinel share β on class
 * words and on the others.
 */
import { writeFile } from 'node:fs/promises';
import { cli, UsageError } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { sentinelShares } from '../src/caption/attention/links.js';
import { loadCaptioner, templateCaptioner } from '../src/caption/captioner.js';
import { evaluateCaptions, type FeatureSource } from '../src/caption/evaluate.js';
import { CaptionOptionsObject, CaptionOptionsSchema, toCaptionSearchOptions } from '../src/caption/options.js';
import { pickValues, schemaOptions } from '../src/cli/schema-options.js';
import { loadCaptions } from '../src/data/captions.js';
import { loadCocoInstances } from '../src/data/coco-instances.js';
import { readFeatureSet } from '../src/data/features.js';
import { readRegionSet } from '../src/data/regions.js';
import { loadEncoder } from '../src/encoder/registry.js';
import { log } from '../src/log.js';
import { chair, chairSummary, chairTableMarkdown, type ChairItem, type ChairScores } from '../src/grounding/chair.js';
import { objectMentionTable, objectTableMarkdown } from '../src/grounding/object-mentions.js';
import { defaultWordTable } from '../src/grounding/words.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const searchFlags = schemaOptions(
  CaptionOptionsObject.pick({ mode: true, beam_size: true, length_penalty: true, max_length: true, temperature: true }),
);
const args = cli({
  usage: 'npm run eval:caption --',
  summary: 'Score a caption model on a captions file (COCO or Karpathy): BLEU-1..4, ROUGE-L, CIDEr-D as coco-caption computes them.',
  example: [
    'npm run eval:caption -- --captions captions_val.json --features .cache/flickr8k.both.feat --results runs/val-results.json',
    'npm run eval:caption -- --captions ../shared/data/coco-dev/captions.json --regions .cache/coco-dev.regions --model runs/att-ce --chair',
  ],
  options: {
    captions: { type: 'string', required: true, placeholder: 'file', description: 'reference captions (COCO or Karpathy JSON)' },
    features: {
      type: 'string',
      placeholder: 'file',
      description: 'cached encoder features (give this or --images; not for an attention model)',
    },
    images: {
      type: 'string',
      placeholder: 'dir',
      description: 'folder of images, encoded on the fly (give this or --features; not for an attention model)',
    },
    regions: {
      type: 'string',
      placeholder: 'file',
      description: 'region cache (npm run features -- --regions): what an attention model (kind caption-attention) reads, and only it',
    },
    supportMinScore: {
      type: 'number',
      min: 0,
      max: 1,
      description:
        "attention model: detection score a kept region needs for captions to name its class (default: the model's supportMinScore)",
    },
    noRepeatNgram: {
      type: 'number',
      int: true,
      min: 0,
      description: "attention model: never repeat an n-gram of this many words (0: off; default: the model's noRepeatNgram, else off)",
    },
    allowUnsupported: {
      type: 'boolean',
      description: 'attention model: turn the unsupported-class rule off (captions may name classes no region supports), for the ablation',
    },
    model: {
      type: 'string',
      default: 'models/caption',
      placeholder: 'dir',
      description: 'caption model folder, or "template" for the detector-template baseline',
    },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder (encoder weights, for --images)' },
    split: {
      type: 'string',
      default: 'val',
      description: 'Karpathy splits to score, comma-separated, or "all" (a COCO file is one split: all its images are scored)',
    },
    ...searchFlags.options,
    skip: {
      type: 'number',
      int: true,
      min: 0,
      description: 'leave out the first N images (say, the val images a trainer chose its checkpoint on); --limit counts after them',
    },
    limit: { type: 'number', int: true, min: 1, description: 'only the first N images' },
    results: { type: 'string', output: 'file', description: 'write the generated captions as COCO results JSON' },
    objects: { type: 'boolean', description: 'also print the object table (per class: named when the references name it, and when not)' },
    chair: {
      type: 'boolean',
      description:
        'also score CHAIR-s, CHAIR-i, object recall and per-class hallucination against COCO instances (model and human references)',
    },
    instances: {
      type: 'string',
      default: '../shared/data/coco-dev/instances.json',
      placeholder: 'file',
      description: 'COCO instance annotations for --chair',
    },
  },
  defaults: searchFlags.defaults,
});
// The caption options and their limits are the /caption route's; one caption per image, and in sample
// mode a fixed seed, so scores repeat.
const search = toCaptionSearchOptions(CaptionOptionsSchema.parse(pickValues(args, Object.keys(searchFlags.options))), () => 0);

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const overrides = {
  ...(args.supportMinScore === undefined ? {} : { supportMinScore: args.supportMinScore }),
  ...(args.allowUnsupported ? { supportRule: false } : {}),
  ...(args.noRepeatNgram === undefined ? {} : { noRepeatNgram: args.noRepeatNgram }),
};
const model = args.model === 'template' ? templateCaptioner() : await loadCaptioner(args.model, undefined, undefined, overrides);
const attention = model.kind === 'caption-attention';
if (attention) {
  if (!args.regions)
    throw new UsageError(`${args.model} is an attention caption model: give --regions FILE (npm run features -- --regions)`);
  if (args.features || args.images) throw new UsageError('an attention caption model reads --regions only; drop --features and --images');
} else {
  if (args.regions) throw new UsageError(`--regions is for attention caption models; ${args.model} is ${model.kind}`);
  if (args.supportMinScore !== undefined || args.allowUnsupported || args.noRepeatNgram !== undefined) {
    throw new UsageError(`--support-min-score and --allow-unsupported are for attention caption models; ${args.model} is ${model.kind}`);
  }
  if (Boolean(args.features) === Boolean(args.images)) throw new UsageError('give exactly one of --features FILE or --images DIR');
}
// The template reads only detections: any cache with them, or CenterNet on the images.
const encoderName = model.kind === 'template' ? 'centernet' : model.encoder;
let images = await loadCaptions(args.captions, args.split === 'all' ? undefined : args.split.split(','));
if (args.skip) images = images.slice(args.skip);
if (args.limit) images = images.slice(0, args.limit);
let source: FeatureSource;
if (args.regions) {
  const regions = await readRegionSet(args.regions);
  if (regions.encoder !== model.encoder)
    throw new Error(`${args.regions} was made by ${regions.encoder}; the model needs ${model.encoder}`);
  // A cache cut harder than the model's own selection would hide regions the model sees when serving.
  if (regions.minScore > model.minScore) {
    log.warn({ cache: regions.minScore, model: model.minScore }, 'the region cache kept fewer detections than the model selects');
  }
  source = { kind: 'regions', regions };
} else if (args.features) {
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
// Read before captioning, so a missing or malformed file fails at once, not after the run.
const truth = args.chair ? await loadCocoInstances(args.instances) : undefined;
const bar = progress('eval', images.length);
const started = Date.now();
const { scores, results, outputs, skipped } = await evaluateCaptions(model, images, source, search, (done) => bar.update(done));
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
let chairScores: { model: ChairScores; references: ChairScores; skipped: number } | undefined;
if (truth) {
  const byId = new Map(results.map((r) => [r.image_id, r.caption]));
  // Only photos the instances file lists: a photo it lacks has unknown, not empty, ground truth.
  const scored = images.filter((img) => byId.has(img.id) && truth.has(img.id));
  const table = defaultWordTable();
  const modelItems: ChairItem[] = scored.map((img) => ({ caption: byId.get(img.id)!, truth: truth.get(img.id)! }));
  const refItems: ChairItem[] = scored.flatMap((img) => img.captions.map((caption) => ({ caption, truth: truth.get(img.id)! })));
  chairScores = { model: chair(table, modelItems), references: chair(table, refItems), skipped: byId.size - scored.length };
}
// The sentinel's share on class words against the rest: low on class words means they come from the regions.
const sentinel = attention ? sentinelShares(defaultWordTable(), outputs) : undefined;
console.log(JSON.stringify({ ...scores, ...(sentinel ? { sentinel } : {}), ...(chairScores ? { chair: chairScores } : {}) }, null, 1));
if (chairScores) {
  if (chairScores.skipped) log.warn({ skipped: chairScores.skipped }, 'images without instance annotations left out of CHAIR');
  console.log(`\nCHAIR ${model.name}: ${chairSummary(chairScores.model)}`);
  console.log(chairTableMarkdown(chairScores.model));
  console.log(`\nCHAIR human references: ${chairSummary(chairScores.references)}`);
  console.log(chairTableMarkdown(chairScores.references));
}
if (args.objects) {
  const byId = new Map(results.map((r) => [r.image_id, r.caption]));
  const rows = images.filter((img) => byId.has(img.id)).map((img) => ({ refs: img.captions, caption: byId.get(img.id)! }));
  console.log(objectTableMarkdown(objectMentionTable(defaultWordTable(), rows)));
}
