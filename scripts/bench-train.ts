/**
 * Training throughput of each trainer with 1 and N gradient threads, in the same run so the
 * ratios are fair on a noisy machine: words/s (plain and grounded caption decoders), questions/s
 * (VQA), characters/s (char). Real text from ../shared/data (Flickr8k captions, easy-VQA
 * questions, tiny-shakespeare) with the shipped models' shapes; image vectors and detections are
 * random (no feature cache needed). Not a test.
 *
 *   npx tsx scripts/bench-train.ts [--seconds 20] [--workers 2] [--trainers caption,grounded,vqa,char]
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { bucketedBatches, captionRows } from '../src/caption/batches.js';
import type { CaptionConfig } from '../src/caption/config.js';
import { readGroundedConfig } from '../src/caption/grounded/config.js';
import { fineCandidates, groundedExamples } from '../src/caption/grounded/data.js';
import { groundedVocab } from '../src/caption/grounded/slots.js';
import { groundedImages, groundedRows } from '../src/caption/grounded/train.js';
import { spec as groundedSpec } from '../src/caption/grounded/train-spec.js';
import { buildExamples, captionTokens } from '../src/caption/train.js';
import { spec as captionSpec } from '../src/caption/train-spec.js';
import { readCharConfig } from '../src/char/config.js';
import { StreamBatcher } from '../src/char/data.js';
import { chunkRows } from '../src/char/train.js';
import { spec as charSpec, stateMap, stateOf } from '../src/char/train-spec.js';
import { CharVocab } from '../src/char/vocab.js';
import { cli } from '../src/cli/main.js';
import { loadCaptions } from '../src/data/captions.js';
import type { FeatureSet } from '../src/data/features.js';
import { loadImageMap } from '../src/data/image-map.js';
import type { DetectedObject } from '../src/encoder/types.js';
import { defaultWordTable, findMentions } from '../src/grounding/words.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { Vocab } from '../src/text/vocab.js';
import { lengthBuckets } from '../src/train/buckets.js';
import { trainThroughput, type BenchTrainer } from '../src/train/bench.js';
import type { Replica } from '../src/train/spec.js';
import { rng } from '../src/util/random.js';
import { readVqaConfig } from '../src/vqa/config.js';
import { loadQaSource } from '../src/vqa/dataset.js';
import { VqaModel } from '../src/vqa/model.js';
import { toExamples, vqaRows } from '../src/vqa/train.js';
import { spec as vqaSpec } from '../src/vqa/train-spec.js';

const TRAINERS = ['caption', 'grounded', 'vqa', 'char'] as const;
const args = cli({
  usage: 'npx tsx scripts/bench-train.ts',
  summary: "Each trainer's training throughput with 1 and --workers gradient threads, on real text with the shipped models' shapes.",
  example: 'npx tsx scripts/bench-train.ts --seconds 20 --workers 2 --trainers caption,char',
  notes: 'Image vectors and detections are random; the text comes from --data (Flickr8k captions, easy-VQA questions, tiny-shakespeare).',
  options: {
    seconds: { type: 'number', min: 1, default: 20, description: 'timed seconds per run (after two warm-up steps)' },
    workers: { type: 'number', int: true, min: 2, max: 16, default: 2, description: 'threads in the parallel run' },
    trainers: { type: 'string', default: TRAINERS.join(','), description: `which trainers (${TRAINERS.join(', ')})` },
    data: { type: 'string', default: '../shared/data', placeholder: 'dir', description: 'the training data folder' },
    images: { type: 'number', int: true, min: 10, default: 1000, description: 'Flickr8k training images to take captions from' },
  },
});
log.level = 'warn';
process.env.LOG_LEVEL ??= 'warn'; // the gradient worker threads' loggers, which read it when they start
const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const random = rng(1);
const randomFeatures = (keys: string[], dim: number): FeatureSet => ({
  encoder: 'random',
  dim,
  keys,
  data: Float32Array.from({ length: keys.length * dim }, () => random()),
});
const cycle = <T>(items: readonly T[], i: number): T => items[i % items.length]!;

async function captions() {
  return (await loadCaptions(path.join(args.data, 'flickr8k/captions_train.json'))).slice(0, args.images);
}

/** The plain decoder as `npm run train:caption -- --arch plain` trains it in README (LSTM-384, batches of 128). */
async function plainCaption(): Promise<BenchTrainer<CaptionConfig, Replica>> {
  const images = await captions();
  const vocab = Vocab.build(images.flatMap(captionTokens), 5);
  const features = randomFeatures(
    images.map((i) => i.file),
    1760,
  );
  const config: CaptionConfig = {
    ...{ kind: 'caption-lstm', name: 'bench', version: '0', encoder: 'random', featureDim: features.dim },
    ...{ embedDim: 256, hiddenDim: 384, dropout: 0.5, maxWords: 20, minWordCount: 5, vocab: [...vocab.words] },
  };
  const batches = bucketedBatches(buildExamples(images, vocab, features, 20).examples, 128, rng(2));
  return {
    name: 'caption (plain)',
    unit: 'words',
    spec: captionSpec,
    config,
    batch: (i) => ({ rows: captionRows(cycle(batches, i), features), items: cycle(batches, i).targets }),
  };
}

/** The shipped grounded decoder's shapes; each image "detects" the classes its captions name. */
async function grounded(): Promise<BenchTrainer<unknown, Replica>> {
  const shipped = await readGroundedConfig('models/caption');
  const table = defaultWordTable();
  const images = await captions();
  const detections = images.map((img): DetectedObject[] => {
    const labels = new Map(captionTokens(img).flatMap((t) => findMentions(table, t).map((m) => [m.label, m.classId] as const)));
    return [...labels].map(([label, classId]) => ({
      label,
      classId,
      score: 0.3 + 0.6 * random(),
      box: [random() * 0.5, random() * 0.5, 0.3, 0.3],
    }));
  });
  const features = {
    ...randomFeatures(
      images.map((i) => i.file),
      shipped.featureDim,
    ),
    detections,
  };
  const all = groundedImages(
    table,
    features,
    images.map((i) => i.file),
    shipped.maxEntries,
    shipped.entryMinScore,
  );
  const vocab = groundedVocab(images.flatMap(captionTokens), shipped.minWordCount);
  const examples = groundedExamples(
    table,
    images.map((r) => ({ image: all.index.get(r.file)!, captions: captionTokens(r) })),
    (i) => all.images[i]!.entries,
    vocab,
    shipped.maxWords,
  );
  const candidates = fineCandidates(table, vocab);
  const batches = lengthBuckets(examples, (e) => e.ids.length, 128, rng(3));
  return {
    name: 'caption (grounded)',
    unit: 'words',
    spec: groundedSpec,
    config: { ...shipped, vocab: [...vocab.words] },
    batch: (i) => ({
      rows: groundedRows(cycle(batches, i), all.images, candidates, vocab.size),
      items: cycle(batches, i).reduce((n, e) => n + e.ids.length - 1, 0),
    }),
  };
}

/** The shipped easy-VQA model on easy-VQA's questions (batches of 128). */
async function vqa(): Promise<BenchTrainer<unknown, Replica>> {
  const config = await readVqaConfig('models/vqa/easy-vqa');
  const qa = await loadQaSource(path.join(args.data, 'easy-vqa/train'), await loadImageMap('{id}.png'));
  const features = randomFeatures([...new Set(qa.map((q) => q.imageKey))], config.featureDim);
  const encoder = VqaModel.init(config, 0);
  const { examples } = toExamples(encoder, qa, features);
  encoder.dispose();
  const batch = 128;
  return {
    name: 'VQA (easy-vqa)',
    unit: 'questions',
    spec: vqaSpec,
    config,
    batch: (i) => {
      const from = (i * batch) % (examples.length - batch);
      return { rows: vqaRows(examples.slice(from, from + batch), features), items: batch };
    },
  };
}

/** The shipped char model (2×256 LSTM) on tiny-shakespeare, 32 streams × 64 steps, the state carried. */
async function char(): Promise<BenchTrainer<unknown, Replica>> {
  const config = await readCharConfig('models/char');
  const text = await readFile(path.join(args.data, 'text/tinyshakespeare.txt'), 'utf8');
  const batcher = new StreamBatcher(new CharVocab(config.vocab).encode(text), 32, 64);
  const lstm = config.cell === 'lstm';
  let previous: tf.NamedTensorMap | undefined;
  return {
    name: 'char (2×256 LSTM)',
    unit: 'chars',
    spec: charSpec,
    config,
    batch: (i, carry) => {
      if (previous) tf.dispose(Object.values(previous));
      const zeros = () => tf.zeros([batcher.streams, config.hiddenDim]) as tf.Tensor2D;
      const state = carry
        ? stateOf(carry, config.layers, lstm)
        : { h: Array.from({ length: config.layers }, zeros), c: lstm ? Array.from({ length: config.layers }, zeros) : [] };
      previous = stateMap(state);
      return { rows: chunkRows(batcher.chunk(i % batcher.chunks), batcher.streams, state), items: batcher.chunkSize };
    },
  };
}

const builders = { caption: plainCaption, grounded, vqa, char };
const chosen = args.trainers.split(',').map((t) => t.trim()) as (typeof TRAINERS)[number][];
for (const t of chosen) if (!TRAINERS.includes(t)) throw new Error(`--trainers: unknown trainer ${t} (${TRAINERS.join(', ')})`);
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
console.log(`backend=${backend} cpus=${os.cpus().length} seconds=${args.seconds} load average at start: ${load()}`);
console.log('| trainer | unit | 1 thread /s | ' + `${args.workers} threads /s | ratio | load (1/5/15 min) after |`);
console.log('|---|---|---|---|---|---|');
for (const name of chosen) {
  const trainer = await builders[name]();
  const one = await trainThroughput(trainer, 1, args.seconds);
  const many = await trainThroughput(trainer, args.workers, args.seconds);
  console.log(
    `| ${trainer.name} | ${trainer.unit} | ${one.perSecond.toFixed(0)} | ${many.perSecond.toFixed(0)} | ×${(many.perSecond / one.perSecond).toFixed(2)} | ${load()} |`,
  );
}
