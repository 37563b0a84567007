/**
 * Train the caption decoder on cached encoder features.
 *
 * Karpathy files: pass the same dataset_*.json to --train and --val; --train-split
 * (default train,restval) and --val-split (default val) pick the images.
 */
import os from 'node:os';
import { captionDataFlags, captionDecoderFlags, loadCaptionSplits } from '../src/cli/caption-flags.js';
import { cli } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { loopFlags, prepareTrainingRun, trainingOptions } from '../src/cli/output.js';
import { readFeatureSet } from '../src/data/features.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { trainCaptionModel, trainOptionsSchema } from '../src/caption/train.js';

const args = cli({
  usage: 'npm run train:caption --',
  summary: 'Train the caption decoder on cached encoder features; the best val CIDEr-D model is kept in --out.',
  example: [
    'npm run train:caption -- --train captions_train.json --val captions_val.json --features .cache/flickr8k.both.feat \\',
    '  --normalize-features --hidden 384 --batch-size 128 --lr 3e-3 --workers 2',
  ],
  notes: 'Karpathy files: pass the same dataset_*.json to --train and --val; --train-split and --val-split pick the images.',
  options: {
    ...captionDataFlags,
    features: { type: 'string', required: true, placeholder: 'file', description: 'cached encoder features (npm run features)' },
    ...trainingOptions('caption'),
    ...captionDecoderFlags,
    ...loopFlags('val CIDEr-D'),
    normalizeFeatures: { type: 'boolean', description: "standardise image vectors with the training set's mean and std" },
  },
  defaults: trainOptionsSchema.parse({}),
});
const run = prepareTrainingRun(args);
const opts = trainOptionsSchema.parse({ ...args, version: run.version });

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const features = await readFeatureSet(args.features);
const { train, val } = await loadCaptionSplits(args);
log.info(
  { backend, encoder: features.encoder, trainImages: train.length, valImages: val.length, cpus: os.cpus().length },
  'training caption decoder',
);
const { state } = await trainCaptionModel({ train, val, features }, opts, {
  outDir: run.outDir,
  checkpointDir: run.checkpointDir,
  resume: args.resume,
  progress,
});
const seconds = Math.round(state.elapsedSeconds);
log.info({ bestEpoch: state.best?.epoch, bestCiderD: state.best?.score, seconds, out: run.outDir }, 'training finished');
