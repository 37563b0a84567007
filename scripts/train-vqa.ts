/**
 * Train a VQA model (VIS+LSTM, IMG+BOW or the blind LSTM) on cached image features.
 *
 * SRC: a COCO-QA split folder, a VQA v2 folder (questions.json + annotations.json)
 * or "QUESTIONS.json,ANNOTATIONS.json". MAP turns image ids into feature keys:
 * a pattern such as "{id}.png" or a COCO JSON with an images [{id, file_name}] list.
 * Without --val, a fraction of the training images (not questions) is held out.
 */
import { z } from 'zod';
import { cli, UsageError } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { loopFlags, prepareTrainingRun, trainingOptions } from '../src/cli/output.js';
import { readFeatureSet } from '../src/data/features.js';
import { readRegionSet } from '../src/data/regions.js';
import { regionVqaTrainOptionsSchema, trainRegionVqa } from '../src/vqa/region/train.js';
import { loadImageMap } from '../src/data/image-map.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { VQA_ARCHS } from '../src/vqa/config.js';
import { trainVqaModel, vqaTrainOptionsSchema } from '../src/vqa/train.js';
import { loadQaSource } from '../src/vqa/dataset.js';
import { countByType, splitByImage } from '../src/vqa/examples.js';

const args = cli({
  usage: 'npm run train:vqa --',
  summary: 'Train a VQA model (VIS+LSTM, IMG+BOW or the blind LSTM) on cached image features; the best val model is kept in --out.',
  example: [
    'npm run train:vqa -- --train .cache/flickr8k-qa/train --image-map ../shared/data/flickr8k/captions_train.json \\',
    '  --features .cache/flickr8k.both.feat --name flickr8k-qa --arch vis-lstm --top-answers 500 --lr 2e-3',
  ],
  notes: [
    'SRC: a COCO-QA split folder, a VQA v2 folder (questions.json + annotations.json) or "QUESTIONS.json,ANNOTATIONS.json".',
    'MAP turns image ids into feature keys: a pattern such as "{id}.png" or a COCO JSON with an images [{id, file_name}] list.',
    'Without --val, a fraction of the training images (not questions) is held out.',
  ].join('\n'),
  options: {
    train: { type: 'string', required: true, placeholder: 'SRC', description: 'training questions' },
    val: { type: 'string', placeholder: 'SRC', description: 'validation questions (default: hold out --val-fraction of the images)' },
    valFraction: { type: 'number', default: 0.1, description: 'share of training images held out without --val (0 to 1)' },
    imageMap: { type: 'string', required: true, placeholder: 'MAP', description: 'image ids to feature keys' },
    valImageMap: { type: 'string', placeholder: 'MAP', description: '--image-map for --val (default: --image-map)' },
    features: { type: 'string', required: true, placeholder: 'file', description: 'cached encoder features (npm run features)' },
    regions: { type: 'string', placeholder: 'file', description: 'region cache (npm run features -- --regions); region-att only' },
    ...trainingOptions('vqa'),
    arch: { type: 'choice', choices: VQA_ARCHS, description: 'model architecture' },
    embedDim: { type: 'number', flag: 'embed', description: 'word embedding size' },
    hiddenDim: { type: 'number', flag: 'hidden', description: 'LSTM size' },
    dropout: { type: 'number', description: 'dropout rate' },
    minWordCount: { type: 'number', flag: 'min-count', description: 'question words seen fewer times become <unk>' },
    topAnswers: { type: 'number', description: 'answer classes: the most frequent training answers' },
    batchSize: { type: 'number', description: 'questions per batch' },
    ...loopFlags('val accuracy'),
    detectionScores: {
      type: 'boolean',
      description: 'append the per-class detection scores to the image vector (a cache made with --detections)',
    },
    rawFeatures: { type: 'boolean', description: "do not standardise image vectors with the training set's mean and std" },
    maxRegions: { type: 'number', description: 'region-att: detections read per image (then the whole image)' },
    regionMinScore: { type: 'number', description: 'region-att: lowest detection score of a region read' },
    projDim: { type: 'number', flag: 'proj', description: 'region-att: width of the region and fused vectors' },
    attendDim: { type: 'number', flag: 'attend', description: 'region-att: attention width' },
    noCount: { type: 'boolean', description: "region-att ablation: do not read the named class's detection count" },
    noColour: { type: 'boolean', description: "region-att ablation: zero the regions' colour descriptors" },
    noPointer: { type: 'boolean', description: "region-att ablation: no answers from the regions' class words" },
  },
  defaults: vqaTrainOptionsSchema.parse({}),
});
z.object({ valFraction: z.number().gt(0).lt(1) }).parse(args);
const run = prepareTrainingRun(args);

/** The region flags the command line set (the schema's defaults fill the rest). */
function definedOnly(a: typeof args): Record<string, number> {
  const picked = { maxRegions: a.maxRegions, regionMinScore: a.regionMinScore, projDim: a.projDim, attendDim: a.attendDim };
  return Object.fromEntries(Object.entries(picked).filter(([, v]) => v !== undefined)) as Record<string, number>;
}
const opts = vqaTrainOptionsSchema.parse({ ...args, version: run.version, normalizeFeatures: !args.rawFeatures });

if ((args.arch === 'region-att') !== (args.regions !== undefined) || args.features === undefined)
  throw new UsageError('give --features FILE, and with --arch region-att also --regions FILE (made by the same encoder)');
const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const all = await loadQaSource(args.train, await loadImageMap(args.imageMap));
const { train, val } = args.val
  ? { train: all, val: await loadQaSource(args.val, await loadImageMap(args.valImageMap ?? args.imageMap)) }
  : splitByImage(all, args.valFraction, opts.seed);
const dirs = { outDir: run.outDir, checkpointDir: run.checkpointDir, resume: args.resume, progress };
log.info({ backend, arch: opts.arch, train: countByType(train), val: countByType(val) }, 'training VQA model');
const { state } = args.regions
  ? await trainRegionVqa(
      { train, val, regions: await readRegionSet(args.regions), features: await readFeatureSet(args.features) },
      regionVqaTrainOptionsSchema.parse({
        ...opts,
        count: !args.noCount,
        colour: !args.noColour,
        pointer: !args.noPointer,
        ...definedOnly(args),
      }),
      dirs,
    )
  : await trainVqaModel({ train, val, features: await readFeatureSet(args.features) }, opts, dirs);
const seconds = Math.round(state.elapsedSeconds);
log.info({ bestEpoch: state.best?.epoch, bestValAccuracy: state.best?.score, seconds, out: run.outDir }, 'training finished');
