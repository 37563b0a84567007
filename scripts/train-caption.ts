/**
 * Train the caption decoder on cached encoder features.
 *
 * Karpathy files: pass the same dataset_*.json to --train and --val; --train-split
 * (default train,restval) and --val-split (default val) pick the images.
 */
import os from 'node:os';
import { captionDataFlags, captionDecoderFlags, loadCaptionSplits, scstFlags } from '../src/cli/caption-flags.js';
import { cli } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { loopFlags, prepareTrainingRun, trainingOptions } from '../src/cli/output.js';
import { readFeatureSet } from '../src/data/features.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { captionTokens, evaluateModel, trainCaptionModel, trainOptionsSchema } from '../src/caption/train.js';
import * as tf from '@tensorflow/tfjs';
import { CaptionModel } from '../src/caption/model.js';
import { plainPolicy, scstFineTune } from '../src/caption/scst.js';
import { indexKeys } from '../src/data/features.js';
import { CiderDScorer } from '../src/eval/cider.js';
import { normalizeCaption } from '../src/eval/tokenize.js';
import { featureTensor } from '../src/train/features.js';

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
    ...scstFlags('plain caption model'),
  },
  defaults: trainOptionsSchema.parse({}),
});
if (args.scst !== undefined) {
  await fineTuneWithScst(args.scst, args.seed ?? 1234);
  process.exit(0);
}
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

/** --scst: SCST fine-tuning of a plain caption model, CIDEr-D (training-set df) on the val images before and after. */
async function fineTuneWithScst(iterations: number, seed: number): Promise<void> {
  if (!args.init) throw new Error('--scst needs --init <a plain caption model folder>');
  const baseline = args.scstBaseline;
  if (baseline !== 'greedy' && baseline !== 'mean') throw new Error('--scst-baseline: greedy or mean');
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  const features = await readFeatureSet(args.features);
  const { train, val } = await loadCaptionSplits(args);
  const model = await CaptionModel.load(args.init);
  const index = indexKeys(features);
  const usable = train.filter((img) => index.has(img.file));
  if (usable.length === 0) throw new Error('no training image has cached features');
  const refTokens = usable.map((img) => captionTokens(img).map((t) => normalizeCaption(t.join(' '))));
  const scorer = CiderDScorer.fromReferences(refTokens);
  const result = await scstFineTune(
    usable.length,
    refTokens.map((r) => scorer.references(r)),
    scorer,
    (picks) => {
      const feats = featureTensor(
        features,
        picks.map((i) => index.get(usable[i]!.file)!),
      );
      const policy = plainPolicy(model, feats);
      return { policy, release: () => (policy.lm.dispose(policy.init), feats.dispose()) };
    },
    () => evaluateModel(model, val, features).scores.ciderD,
    async () => (args.out ? model.save(args.out) : undefined),
    {
      iterations,
      images: args.scstImages,
      samples: args.scstSamples,
      baseline,
      clip: args.gradClip ?? 5,
      seed,
      maxLength: model.config.maxWords + 1,
      validateEvery: iterations,
      maxMinutes: args.maxMinutes ?? Infinity,
    },
    tf.train.adam(args.scstLr),
    (iteration, r) => log.info({ iteration, loss: r.loss, sampleCiderD: r.sampleReward, greedyCiderD: r.greedyReward }, 'scst'),
  );
  log.info({ trainImages: usable.length, ...result, baseline }, 'scst finished (val CIDEr-D, corpus df)');
}
