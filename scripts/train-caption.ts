/**
 * Train the caption decoder on cached encoder features.
 *
 *   npm run train:caption -- --train captions_train.json --val captions_val.json \
 *     --features flickr8k.mobilenet_v2.feat [--out models/caption] [--checkpoints runs/caption] [--resume]
 *     [--workers 2]   (gradient threads: the wasm backend uses one core per thread)
 *
 * Karpathy files: pass the same dataset_*.json to --train and --val; --train-split
 * (default train,restval) and --val-split (default val) pick the images.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadCaptions } from '../src/data/captions.js';
import { readFeatureSet } from '../src/data/features.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { trainCaptionModel, trainOptionsSchema } from '../src/caption/train.js';

const { values } = parseArgs({
  options: {
    train: { type: 'string' },
    val: { type: 'string' },
    features: { type: 'string' },
    'train-split': { type: 'string', default: 'train,restval' },
    'val-split': { type: 'string', default: 'val' },
    out: { type: 'string', default: 'models/caption' },
    checkpoints: { type: 'string', default: 'runs/caption' },
    resume: { type: 'boolean', default: false },
    name: { type: 'string' },
    embed: { type: 'string' },
    hidden: { type: 'string' },
    dropout: { type: 'string' },
    'min-count': { type: 'string' },
    'max-words': { type: 'string' },
    'batch-size': { type: 'string' },
    epochs: { type: 'string' },
    lr: { type: 'string' },
    'lr-decay': { type: 'string' },
    'grad-clip': { type: 'string' },
    patience: { type: 'string' },
    'max-minutes': { type: 'string' },
    'val-images': { type: 'string' },
    seed: { type: 'string' },
    workers: { type: 'string' },
    'normalize-features': { type: 'boolean', default: false },
  },
});

const num = z.coerce.number().optional();
const args = z
  .object({
    train: z.string({ required_error: '--train FILE (COCO captions or Karpathy JSON) is required' }),
    val: z.string({ required_error: '--val FILE is required (used for early stopping)' }),
    features: z.string({ required_error: '--features FILE is required (build it with npm run features)' }),
    trainSplit: z.string(),
    valSplit: z.string(),
    out: z.string(),
    checkpoints: z.string(),
    resume: z.boolean(),
    valImages: num,
  })
  .parse({ ...values, trainSplit: values['train-split'], valSplit: values['val-split'], valImages: values['val-images'] });

const opts = trainOptionsSchema.parse({
  name: values.name,
  embedDim: num.parse(values.embed),
  hiddenDim: num.parse(values.hidden),
  dropout: num.parse(values.dropout),
  minWordCount: num.parse(values['min-count']),
  maxWords: num.parse(values['max-words']),
  batchSize: num.parse(values['batch-size']),
  epochs: num.parse(values.epochs),
  learningRate: num.parse(values.lr),
  lrDecay: num.parse(values['lr-decay']),
  gradClip: num.parse(values['grad-clip']),
  patience: num.parse(values.patience),
  maxMinutes: num.parse(values['max-minutes']),
  seed: num.parse(values.seed),
  workers: num.parse(values.workers),
  normalizeFeatures: values['normalize-features'],
});

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const features = await readFeatureSet(args.features);
const pick = (file: string, splits: string) => loadCaptions(file, splits.split(','));
const train = await pick(args.train, args.trainSplit);
let val = await pick(args.val, args.valSplit);
if (args.valImages) val = val.slice(0, args.valImages);
log.info({ backend, encoder: features.encoder, trainImages: train.length, valImages: val.length, cpus: os.cpus().length }, 'training caption decoder');
const { state } = await trainCaptionModel({ train, val, features }, opts, { outDir: args.out, checkpointDir: args.checkpoints, resume: args.resume });
log.info({ bestEpoch: state.best?.epoch, bestCiderD: state.best?.score, seconds: Math.round(state.elapsedSeconds), out: args.out }, 'training finished');
