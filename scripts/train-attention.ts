/**
 * Train the attention caption decoder (Up-Down with a visual sentinel over bottom-up regions)
 * by cross-entropy on a region cache made with `npm run features -- --regions`.
 */
import { captionDataFlags, captionDecoderFlags, loadCaptionSplits, scstFlags } from '../src/cli/caption-flags.js';
import { cli } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { loopFlags, prepareTrainingRun, trainingOptions } from '../src/cli/output.js';
import * as tf from '@tensorflow/tfjs';
import { regionImages } from '../src/data/regions.js';
import { AttentionModel } from '../src/caption/attention/model.js';
import { attentionPolicy } from '../src/caption/attention/scst.js';
import { attentionTrainOptionsSchema, evaluateAttention, trainAttentionModel } from '../src/caption/attention/train.js';
import { scstFineTune } from '../src/caption/scst.js';
import { spec } from '../src/caption/attention/train-spec.js';
import { GradientPool } from '../src/train/parallel.js';
import { captionTokens } from '../src/caption/train.js';
import { CiderDScorer } from '../src/eval/cider.js';
import { normalizeCaption } from '../src/eval/tokenize.js';
import { readRegionSet } from '../src/data/regions.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const args = cli({
  usage: 'npm run train:attention --',
  summary: 'Train the attention caption decoder on cached regions; the best val CIDEr-D model is kept in --out.',
  example: [
    'npm run features -- --images ../shared/data/flickr8k/images --out .cache/flickr8k.regions --regions --min-score 0.1 --workers 2',
    'npm run train:attention -- --train captions_train.json --val captions_val.json --regions .cache/flickr8k.regions',
  ],
  options: {
    ...captionDataFlags,
    regions: { type: 'string', required: true, placeholder: 'file', description: 'region cache (npm run features -- --regions)' },
    ...trainingOptions('caption-attention'),
    attendDim: { type: 'number', flag: 'attend', description: 'attention layer size' },
    maxRegions: { type: 'number', description: 'most detections the decoder attends over (plus the whole image)' },
    regionMinScore: { type: 'number', description: 'lowest detection score that makes a region' },
    ...captionDecoderFlags,
    ...loopFlags('val CIDEr-D'),
    ...scstFlags('attention model'),
    scstValidateEvery: {
      type: 'number',
      int: true,
      min: 1,
      default: 100,
      description: 'with --scst: validate (keep the best) every N iterations',
    },
  },
  defaults: attentionTrainOptionsSchema.parse({}),
});
if (args.scst !== undefined) {
  await fineTuneWithScst(args.scst);
  process.exit(0);
}
const run = prepareTrainingRun(args);
const opts = attentionTrainOptionsSchema.parse({ ...args, version: run.version });

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const regions = await readRegionSet(args.regions);
const { train, val } = await loadCaptionSplits(args);
log.info({ backend, encoder: regions.encoder, trainImages: train.length, valImages: val.length }, 'training attention caption decoder');
const { state } = await trainAttentionModel({ train, val, regions }, opts, {
  outDir: run.outDir,
  checkpointDir: run.checkpointDir,
  resume: args.resume,
  progress,
});
log.info(
  { bestEpoch: state.best?.epoch, bestCiderD: state.best?.score, seconds: Math.round(state.elapsedSeconds), out: run.outDir },
  'training finished',
);

/** --scst: SCST fine-tuning of --init, CIDEr-D (training-set df) reward; the best val CIDEr-D model is kept in --out. */
async function fineTuneWithScst(iterations: number): Promise<void> {
  if (!args.init) throw new Error('--scst needs --init <an attention caption model folder>');
  const baseline = args.scstBaseline;
  if (baseline !== 'greedy' && baseline !== 'mean') throw new Error('--scst-baseline: greedy or mean');
  const run = prepareTrainingRun(args);
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  const regions = await readRegionSet(args.regions);
  const { train, val } = await loadCaptionSplits(args);
  const model = await AttentionModel.load(args.init);
  const { maxRegions, regionMinScore } = model.config;
  const all = regionImages(
    regions,
    [...train, ...val].map((r) => r.file),
    maxRegions,
    regionMinScore,
  );
  const usable = train.filter((img) => all.index.has(img.file));
  if (usable.length === 0) throw new Error('no training image has cached regions: check --regions against the images');
  const refTokens = usable.map((img) => captionTokens(img).map((t) => normalizeCaption(t.join(' '))));
  const scorer = CiderDScorer.fromReferences(refTokens);
  const seed = args.seed ?? 1234;
  const pool = new GradientPool(spec, model.config, (args.workers ?? 1) - 1);
  const started = performance.now();
  const result = await scstFineTune(
    usable.length,
    refTokens.map((r) => scorer.references(r)),
    scorer,
    (picks) => ({
      policy: attentionPolicy(
        model,
        picks.map((i) => all.images[all.index.get(usable[i]!.file)!]!),
        pool,
      ),
      release: () => undefined,
    }),
    () => evaluateAttention(model, val, all.images, all.index).scores.ciderD,
    () => model.save(run.outDir),
    {
      iterations,
      images: args.scstImages,
      samples: args.scstSamples,
      baseline,
      clip: args.gradClip ?? 5,
      seed,
      maxLength: model.config.maxWords + 1,
      validateEvery: args.scstValidateEvery,
      maxMinutes: args.maxMinutes ?? Infinity,
    },
    tf.train.adam(args.scstLr),
    (iteration, r) => {
      if (iteration % 10 === 0) log.info({ iteration, loss: r.loss, sampleCiderD: r.sampleReward, greedyCiderD: r.greedyReward }, 'scst');
    },
  );
  const scst = {
    ...result,
    baseline,
    lr: args.scstLr,
    images: args.scstImages,
    samples: args.scstSamples,
    seconds: (performance.now() - started) / 1000,
    init: args.init,
  };
  if (result.bestIteration > 0) {
    const best = await AttentionModel.load(run.outDir);
    await best.save(run.outDir, { training: { ...(model.config.training ?? {}), scst } });
  }
  log.info({ out: run.outDir, ...scst }, 'scst finished (val CIDEr-D, training-set df)');
}
