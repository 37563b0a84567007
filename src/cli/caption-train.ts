/**
 * `npm run train:caption`: the one trainer of the caption family. `--arch` picks the decoder:
 *
 * - plain: the design card's LSTM, image vector into h0 (src/caption/model.ts);
 * - grounded: the plain decoder plus Neural Baby Talk slots filled from the detections
 *   (src/caption/grounded), the shipped default;
 * - attention: Up-Down with a visual sentinel over bottom-up regions (src/caption/attention).
 *
 * Each arch trains by cross-entropy through the shared loop; plain and attention can then be
 * fine-tuned by SCST (`--scst N --init DIR`). Flags that do not apply to the chosen arch are
 * refused, so a mistyped command never trains something other than what was asked.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { AttentionModel } from '../caption/attention/model.js';
import { attentionPolicy } from '../caption/attention/scst.js';
import { spec as attentionSpec } from '../caption/attention/train-spec.js';
import { attentionTrainOptionsSchema, evaluateAttention, trainAttentionModel } from '../caption/attention/train.js';
import { groundedTrainOptionsSchema, trainGroundedModel } from '../caption/grounded/train.js';
import { CaptionModel } from '../caption/model.js';
import { plainPolicy, scstFineTune } from '../caption/scst.js';
import { captionTokens, evaluateModel, trainCaptionModel, trainOptionsSchema } from '../caption/train.js';
import { indexKeys, readFeatureSet } from '../data/features.js';
import { readRegionSet, regionImages } from '../data/regions.js';
import { CiderDScorer } from '../eval/cider.js';
import { normalizeCaption } from '../eval/tokenize.js';
import { DEFAULT_TABLE_FILE, loadWordTable } from '../grounding/words.js';
import { log } from '../log.js';
import { initBackend, parseBackendName } from '../nn/backend.js';
import { featureTensor } from '../train/features.js';
import { GradientPool } from '../train/parallel.js';
import type { CaptionedImage } from '../data/captions.js';
import { captionDataFlags, captionDecoderFlags, loadCaptionSplits, scstFlags } from './caption-flags.js';
import { kebab, UsageError, type OptionSpecs, type Values } from './command.js';
import { loopFlags, prepareTrainingRun, trainingOptions } from './output.js';
import { progress } from './progress.js';

export const CAPTION_ARCHS = ['plain', 'grounded', 'attention'] as const;
export type CaptionArch = (typeof CAPTION_ARCHS)[number];

/** Each arch's model name (config.json, and the run folder's prefix) when --name is not given. */
const ARCH_NAMES: Record<CaptionArch, string> = { plain: 'caption', grounded: 'caption-grounded', attention: 'caption-attention' };

/** The schema that fills each arch's defaults. */
const SCHEMAS = { plain: trainOptionsSchema, grounded: groundedTrainOptionsSchema, attention: attentionTrainOptionsSchema };

const { name: _name, ...runFlags } = trainingOptions('caption');

export const captionTrainFlags = {
  arch: {
    type: 'choice',
    choices: CAPTION_ARCHS,
    default: 'grounded',
    description: 'decoder: plain, grounded (slots) or attention (regions)',
  },
  ...captionDataFlags,
  features: {
    type: 'string',
    placeholder: 'file',
    description: 'plain, grounded: feature cache (npm run features; grounded needs --detections)',
  },
  regions: { type: 'string', placeholder: 'file', description: 'attention: region cache (npm run features -- --regions)' },
  ...runFlags,
  name: { type: 'string', description: "the model's name in config.json, and the run folder's prefix", defaultText: 'caption[-<arch>]' },
  ...captionDecoderFlags,
  ...loopFlags('val CIDEr-D'),
  normalizeFeatures: { type: 'boolean', description: "plain: standardise image vectors with the training set's mean and std" },
  words: { type: 'string', placeholder: 'file', description: `grounded: word ↔ class table (default: ${DEFAULT_TABLE_FILE})` },
  attendDim: { type: 'number', flag: 'attend', description: "grounded, attention: the pointer's or the attention's width" },
  maxEntries: { type: 'number', description: 'grounded: most detected classes the pointer sees per image' },
  entryMinScore: { type: 'number', description: 'grounded: lowest detection score that makes an entry' },
  maxRegions: { type: 'number', description: 'attention: most detections attended over (plus the whole image)' },
  regionMinScore: { type: 'number', description: 'attention: lowest detection score that makes a region' },
  slots: {
    type: 'boolean',
    description: 'attention: Neural Baby Talk slots, filled by the region the attention points at (class words only from regions)',
  },
  noSentinel: { type: 'boolean', description: 'attention: no visual sentinel (plain soft attention, β = 0), the ablation' },
  ...scstFlags('plain or attention model'),
  scstValidateEvery: {
    type: 'number',
    int: true,
    min: 1,
    description: 'with --scst: validate (keep the best) every N iterations (default: plain once at the end, attention 100)',
  },
} as const satisfies OptionSpecs;

export type CaptionTrainArgs = Values<typeof captionTrainFlags>;

/** The flags only some archs read; any other flag applies to all of them. */
const ONLY: Partial<Record<keyof CaptionTrainArgs, readonly CaptionArch[]>> = {
  features: ['plain', 'grounded'],
  regions: ['attention'],
  normalizeFeatures: ['plain'],
  words: ['grounded'],
  attendDim: ['grounded', 'attention'],
  maxEntries: ['grounded'],
  entryMinScore: ['grounded'],
  maxRegions: ['attention'],
  regionMinScore: ['attention'],
  slots: ['attention'],
  noSentinel: ['attention'],
  scst: ['plain', 'attention'],
  init: ['plain', 'attention'],
  scstValidateEvery: ['plain', 'attention'],
};

/** One line per misuse: a flag the arch does not read, or its data file missing. */
export function checkArchFlags(args: Partial<CaptionTrainArgs> & { arch: CaptionArch }): void {
  for (const [key, archs] of Object.entries(ONLY) as [keyof CaptionTrainArgs, readonly CaptionArch[]][]) {
    const value = args[key];
    if (value !== undefined && value !== false && !archs.includes(args.arch)) {
      throw new UsageError(`--${kebab(key)} is for --arch ${archs.join(' or ')}, not ${args.arch}`);
    }
  }
  if (args.arch === 'attention' && args.regions === undefined) throw new UsageError('--arch attention needs --regions FILE');
  if (args.arch !== 'attention' && args.features === undefined) throw new UsageError(`--arch ${args.arch} needs --features FILE`);
  if (args.scst !== undefined && args.init === undefined) throw new UsageError(`--scst needs --init <a ${args.arch} caption model folder>`);
  if (args.scstBaseline !== undefined && args.scstBaseline !== 'greedy' && args.scstBaseline !== 'mean') {
    throw new UsageError(`--scst-baseline: greedy or mean, got '${args.scstBaseline}'`);
  }
}

/** --help's note: the defaults that differ by arch, read from their schemas. */
export function archDefaultsNote(): string {
  const rows = CAPTION_ARCHS.map((arch) => {
    const d = SCHEMAS[arch].parse({});
    return `  ${arch}: --epochs ${d.epochs} --lr ${d.learningRate} --hidden ${d.hiddenDim} --batch-size ${d.batchSize}`;
  });
  return ['Defaults by --arch:', ...rows].join('\n');
}

/** Train (or, with --scst, fine-tune) the chosen arch; the best val CIDEr-D model lands in the run's folder. */
export async function trainCaption(args: CaptionTrainArgs): Promise<void> {
  checkArchFlags(args);
  const named = { ...args, name: args.name ?? ARCH_NAMES[args.arch] };
  if (args.scst !== undefined) return args.arch === 'attention' ? scstAttention(named, args.scst) : scstPlain(named, args.scst);
  const run = prepareTrainingRun(named);
  const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
  const { train, val } = await loadCaptionSplits(args);
  const dirs = { outDir: run.outDir, checkpointDir: run.checkpointDir, resume: args.resume, progress };
  log.info(
    { backend, arch: args.arch, trainImages: train.length, valImages: val.length, cpus: os.cpus().length },
    'training caption decoder',
  );
  const version = run.version;
  const { state } =
    args.arch === 'attention'
      ? await trainAttentionModel(
          { train, val, regions: await readRegionSet(args.regions!) },
          attentionTrainOptionsSchema.parse({ ...named, version }),
          dirs,
        )
      : args.arch === 'grounded'
        ? await trainGroundedModel(
            { train, val, features: await readFeatureSet(args.features!), table: loadWordTable(args.words ?? DEFAULT_TABLE_FILE) },
            groundedTrainOptionsSchema.parse({ ...named, version }),
            dirs,
          )
        : await trainCaptionModel(
            { train, val, features: await readFeatureSet(args.features!) },
            trainOptionsSchema.parse({ ...named, version }),
            dirs,
          );
  const seconds = Math.round(state.elapsedSeconds);
  log.info({ arch: args.arch, bestEpoch: state.best?.epoch, bestCiderD: state.best?.score, seconds, out: run.outDir }, 'training finished');
}

/** The training images' references, tokenised, and a CIDEr-D scorer with their document frequencies. */
function rewardOf(usable: readonly CaptionedImage[]): { refTokens: string[][][]; scorer: CiderDScorer } {
  const refTokens = usable.map((img) => captionTokens(img).map((t) => normalizeCaption(t.join(' '))));
  return { refTokens, scorer: CiderDScorer.fromReferences(refTokens) };
}

/** The SCST options the flags give, for a model that writes at most `maxWords`. */
function scstOptions(args: CaptionTrainArgs, iterations: number, maxWords: number, validateEvery: number) {
  return {
    iterations,
    images: args.scstImages,
    samples: args.scstSamples,
    baseline: args.scstBaseline as 'greedy' | 'mean',
    clip: args.gradClip ?? 5,
    seed: args.seed ?? 1234,
    maxLength: maxWords + 1,
    validateEvery: args.scstValidateEvery ?? validateEvery,
    maxMinutes: args.maxMinutes ?? Infinity,
  };
}

/** --scst on a plain model: val CIDEr-D before and after; the model is saved to --out when given. */
async function scstPlain(args: CaptionTrainArgs, iterations: number): Promise<void> {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  const features = await readFeatureSet(args.features!);
  const { train, val } = await loadCaptionSplits(args);
  const model = await CaptionModel.load(args.init!);
  const index = indexKeys(features);
  const usable = train.filter((img) => index.has(img.file));
  if (usable.length === 0) throw new Error('no training image has cached features: check --features against the images');
  const { refTokens, scorer } = rewardOf(usable);
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
    scstOptions(args, iterations, model.config.maxWords, iterations),
    tf.train.adam(args.scstLr),
    (iteration, r) => log.info({ iteration, loss: r.loss, sampleCiderD: r.sampleReward, greedyCiderD: r.greedyReward }, 'scst'),
  );
  log.info({ trainImages: usable.length, ...result, baseline: args.scstBaseline }, 'scst finished (val CIDEr-D, corpus df)');
}

/** --scst on an attention model, gradients on --workers threads; the best val model is kept in the run's folder with its SCST record. */
async function scstAttention(args: CaptionTrainArgs & { name: string }, iterations: number): Promise<void> {
  const run = prepareTrainingRun(args);
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  const regions = await readRegionSet(args.regions!);
  const { train, val } = await loadCaptionSplits(args);
  const model = await AttentionModel.load(args.init!);
  const { maxRegions, regionMinScore } = model.config;
  const all = regionImages(
    regions,
    [...train, ...val].map((r) => r.file),
    maxRegions,
    regionMinScore,
  );
  const usable = train.filter((img) => all.index.has(img.file));
  if (usable.length === 0) throw new Error('no training image has cached regions: check --regions against the images');
  const { refTokens, scorer } = rewardOf(usable);
  const pool = new GradientPool(attentionSpec, model.config, (args.workers ?? 1) - 1);
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
    scstOptions(args, iterations, model.config.maxWords, 100),
    tf.train.adam(args.scstLr),
    (iteration, r) => {
      if (iteration % 10 === 0) log.info({ iteration, loss: r.loss, sampleCiderD: r.sampleReward, greedyCiderD: r.greedyReward }, 'scst');
    },
  );
  const scst = {
    ...result,
    baseline: args.scstBaseline,
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
