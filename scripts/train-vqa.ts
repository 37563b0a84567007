/**
 * Train a VQA model (VIS+LSTM, IMG+BOW or the blind LSTM) on cached image features.
 *
 *   npm run train:vqa -- --train SRC --image-map MAP --features FILE \
 *     [--val SRC | --val-fraction 0.1] [--arch vis-lstm] [--out models/vqa/NAME] [--checkpoints runs/vqa/NAME] [--resume]
 *
 * SRC: a COCO-QA split folder, a VQA v2 folder (questions.json + annotations.json)
 * or "QUESTIONS.json,ANNOTATIONS.json". MAP turns image ids into feature keys:
 * a pattern such as "{id}.png" or a COCO JSON with an images [{id, file_name}] list.
 * Without --val, a fraction of the training images (not questions) is held out.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { readFeatureSet } from '../src/data/features.js';
import { loadImageMap } from '../src/data/image-map.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { trainVqaModel, vqaTrainOptionsSchema } from '../src/vqa/train.js';
import { loadQaSource } from '../src/vqa/dataset.js';
import { countByType, splitByImage } from '../src/vqa/examples.js';

const { values } = parseArgs({
  options: {
    train: { type: 'string' },
    val: { type: 'string' },
    'val-fraction': { type: 'string', default: '0.1' },
    'image-map': { type: 'string' },
    'val-image-map': { type: 'string' },
    features: { type: 'string' },
    out: { type: 'string' },
    checkpoints: { type: 'string' },
    resume: { type: 'boolean', default: false },
    arch: { type: 'string' },
    name: { type: 'string' },
    embed: { type: 'string' },
    hidden: { type: 'string' },
    dropout: { type: 'string' },
    'min-count': { type: 'string' },
    'top-answers': { type: 'string' },
    'batch-size': { type: 'string' },
    epochs: { type: 'string' },
    lr: { type: 'string' },
    'lr-decay': { type: 'string' },
    patience: { type: 'string' },
    'max-minutes': { type: 'string' },
    seed: { type: 'string' },
    'raw-features': { type: 'boolean', default: false },
  },
});

const num = z.coerce.number().optional();
const args = z
  .object({
    train: z.string({ required_error: '--train SRC is required (COCO-QA folder, VQA v2 folder or QUESTIONS.json,ANNOTATIONS.json)' }),
    val: z.string().optional(),
    valFraction: z.coerce.number().gt(0).lt(1),
    imageMap: z.string({ required_error: '--image-map is required: a pattern like "{id}.png" or a COCO JSON with images [{id, file_name}]' }),
    valImageMap: z.string().optional(),
    features: z.string({ required_error: '--features FILE is required (build it with npm run features)' }),
    out: z.string().optional(),
    checkpoints: z.string().optional(),
    resume: z.boolean(),
  })
  .parse({ ...values, valFraction: values['val-fraction'], imageMap: values['image-map'], valImageMap: values['val-image-map'] });

const opts = vqaTrainOptionsSchema.parse({
  arch: values.arch,
  name: values.name,
  embedDim: num.parse(values.embed),
  hiddenDim: num.parse(values.hidden),
  dropout: num.parse(values.dropout),
  minWordCount: num.parse(values['min-count']),
  topAnswers: num.parse(values['top-answers']),
  batchSize: num.parse(values['batch-size']),
  epochs: num.parse(values.epochs),
  learningRate: num.parse(values.lr),
  lrDecay: num.parse(values['lr-decay']),
  patience: num.parse(values.patience),
  maxMinutes: num.parse(values['max-minutes']),
  seed: num.parse(values.seed),
  normalizeFeatures: !values['raw-features'],
});

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const features = await readFeatureSet(args.features);
const all = await loadQaSource(args.train, await loadImageMap(args.imageMap));
const { train, val } = args.val
  ? { train: all, val: await loadQaSource(args.val, await loadImageMap(args.valImageMap ?? args.imageMap)) }
  : splitByImage(all, args.valFraction, opts.seed);
const outDir = args.out ?? `models/vqa/${opts.name}`;
log.info({ backend, encoder: features.encoder, arch: opts.arch, train: countByType(train), val: countByType(val) }, 'training VQA model');
const { state } = await trainVqaModel({ train, val, features }, opts, { outDir, checkpointDir: args.checkpoints ?? `runs/vqa/${opts.name}`, resume: args.resume });
log.info({ bestEpoch: state.best?.epoch, bestValAccuracy: state.best?.score, seconds: Math.round(state.elapsedSeconds), out: outDir }, 'training finished');
