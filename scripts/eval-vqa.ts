/**
 * Score VQA models and the baselines on a QA set, overall and per question type.
 *
 *   npm run eval:vqa -- --test SRC --image-map MAP --features FILE --models DIR[,DIR…] \
 *     [--train SRC --train-image-map MAP]   (adds the answer-prior baseline)
 *     [--test-part all|train|val] [--train-part all|train|val] [--val-fraction 0.1] [--seed 1234]
 *     [--wups] [--shuffle-images] [--out results.json] [--markdown table.md]
 *
 * SRC as for train:vqa. A part other than "all" re-creates train:vqa's image
 * split (same --val-fraction and --seed), e.g. to score easy-VQA's held-out images.
 * --shuffle-images is an ablation: each question is paired with another test
 * image, so what is left is what the model gets from the question alone.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cli, UsageError } from '../src/cli/main.js';
import { z } from 'zod';
import { readFeatureSet, withClassScores } from '../src/data/features.js';
import { classScores } from '../src/grounding/entries.js';
import { loadImageMap } from '../src/data/image-map.js';
import { formatVqaTable, scoreVqa, type VqaScores } from '../src/eval/vqa-metrics.js';
import { Wups } from '../src/eval/wups.js';
import { log } from '../src/log.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { rng, shuffle } from '../src/util/random.js';
import { priorPredictions } from '../src/vqa/baselines.js';
import { loadQaSource } from '../src/vqa/dataset.js';
import { splitByImage } from '../src/vqa/examples.js';
import { VqaModel } from '../src/vqa/model.js';
import { predictAnswers } from '../src/vqa/predict.js';
import { readRegionSet } from '../src/data/regions.js';
import { readVqaConfig } from '../src/vqa/config.js';
import { vqaImages } from '../src/vqa/region/data.js';
import { RegionVqaModel } from '../src/vqa/region/model.js';
import { regionPredictions } from '../src/vqa/region/predict.js';
import type { QaExample } from '../src/data/qa.js';

const parts = ['all', 'train', 'val'] as const;
const args = cli({
  usage: 'npm run eval:vqa --',
  summary: 'Score VQA models and the baselines on a QA set, overall and per question type.',
  example: [
    'npm run eval:vqa -- --test .cache/flickr8k-qa/test --image-map ../shared/data/flickr8k/captions_val.json \\',
    '  --features .cache/flickr8k.both.feat --models models/vqa/flickr8k-qa \\',
    '  --train .cache/flickr8k-qa/train --train-image-map ../shared/data/flickr8k/captions_train.json --wups',
  ],
  notes: [
    'SRC and MAP as for train:vqa. A part other than "all" re-creates train:vqa\'s image split (same --val-fraction and',
    "--seed), e.g. to score easy-VQA's held-out images. --shuffle-images is an ablation: each question is paired with",
    'another test image, so what is left is what the model gets from the question alone.',
  ].join('\n'),
  options: {
    test: { type: 'string', required: true, placeholder: 'SRC', description: 'test questions' },
    imageMap: { type: 'string', required: true, placeholder: 'MAP', description: 'image ids to feature keys' },
    features: { type: 'string', placeholder: 'file', description: 'cached encoder features (npm run features), for vector models' },
    regions: { type: 'string', placeholder: 'file', description: 'region cache (npm run features -- --regions), for region-att models' },
    models: { type: 'string', placeholder: 'dir[,dir…]', description: 'VQA model folders to score' },
    train: { type: 'string', placeholder: 'SRC', description: 'training questions: adds the answer-prior baseline' },
    trainImageMap: { type: 'string', placeholder: 'MAP', description: '--image-map for --train (default: --image-map)' },
    testPart: { type: 'choice', choices: parts, default: 'all', description: "part of train:vqa's image split to score" },
    trainPart: { type: 'choice', choices: parts, default: 'all', description: "part of train:vqa's image split for the prior" },
    valFraction: { type: 'number', default: 0.1, description: "train:vqa's held-out share of images (0 to 1)" },
    seed: { type: 'number', int: true, default: 1234, description: "train:vqa's seed (split) and the --shuffle-images seed" },
    wups: { type: 'boolean', description: 'also report WUPS@0.9 and WUPS@0.0' },
    shuffleImages: { type: 'boolean', description: 'ablation: pair each question with another test image' },
    out: { type: 'string', output: 'file', description: 'write the scores as JSON' },
    markdown: { type: 'string', output: 'file', description: 'write the tables as markdown' },
  },
});
z.object({ valFraction: z.number().gt(0).lt(1) }).parse(args);
const models = (args.models ?? '').split(',').filter(Boolean);

async function load(source: string, map: string, which: (typeof parts)[number]): Promise<QaExample[]> {
  const all = await loadQaSource(source, await loadImageMap(map));
  return which === 'all' ? all : splitByImage(all, args.valFraction, args.seed)[which];
}

if (models.length === 0 && !args.train) {
  throw new UsageError('nothing to score: give --models DIR[,DIR…] and/or --train SRC (answer-prior baseline)');
}
const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const features = args.features ? await readFeatureSet(args.features) : undefined;
const regions = args.regions ? await readRegionSet(args.regions) : undefined;
let test = await load(args.test, args.imageMap, args.testPart);
if (args.shuffleImages) {
  const keys = shuffle(
    test.map((e) => e.imageKey),
    rng(args.seed),
  );
  test = test.map((e, i) => ({ ...e, imageKey: keys[i]! }));
}
const wups = args.wups ? await Wups.load() : undefined;
log.info({ backend, questions: test.length, wups: !!wups, shuffleImages: args.shuffleImages }, 'scoring VQA');

const results: Record<string, VqaScores> = {};
if (args.train) {
  const train = await load(args.train, args.trainImageMap ?? args.imageMap, args.trainPart);
  results['answer prior'] = scoreVqa(priorPredictions(train, test), test, { wups });
}
for (const dir of models) {
  if ((await readVqaConfig(dir)).arch === 'region-att') {
    if (!regions || !features) throw new UsageError(`${dir} is a region-att model: give --regions FILE and --features FILE`);
    const model = await RegionVqaModel.load(dir);
    const r = model.config.region!;
    const { images, index } = vqaImages(
      regions,
      features,
      test.map((e) => e.imageKey),
      r.maxRegions,
      r.minScore,
    );
    results[`region-att (${path.basename(dir)})`] = scoreVqa(regionPredictions(model, test, images, index), test, { wups });
    model.dispose();
    continue;
  }
  if (!features) throw new UsageError(`${dir} reads image vectors: give --features FILE`);
  const model = await VqaModel.load(dir);
  if (model.config.encoder !== features.encoder)
    throw new Error(`${dir} was trained on ${model.config.encoder} features; ${args.features} holds ${features.encoder}`);
  const t0 = performance.now();
  // A question whose image has no features counts as unanswered (wrong).
  // A model trained with --detection-scores reads [v; d]: the cache's detections give d.
  const input = model.config.detectionScores ? withClassScores(features, classScores) : features;
  results[`${model.config.arch} (${path.basename(dir)})`] = scoreVqa(predictAnswers(model, test, input), test, { wups });
  log.info({ model: dir, seconds: Math.round((performance.now() - t0) / 100) / 10 }, 'model scored');
  model.dispose();
}

const sections = Object.entries(results).map(([name, s]) => `### ${name}\n\n${formatVqaTable(s)}`);
const types = Object.keys(Object.values(results)[0]!.byType);
const names = Object.keys(results);
const summary = [
  `| type | n | ${names.join(' | ')} |`,
  `| --- | ---: | ${names.map(() => '---:').join(' | ')} |`,
  ...types.map(
    (t) =>
      `| ${t} | ${results[names[0]!]!.byType[t]!.count} | ${names.map((n) => (100 * results[n]!.byType[t]!.accuracy).toFixed(2)).join(' | ')} |`,
  ),
  `| **overall** | ${test.length} | ${names.map((n) => (100 * results[n]!.accuracy).toFixed(2)).join(' | ')} |`,
].join('\n');
const markdown = `## Accuracy (%) by question type\n\n${summary}\n\n${sections.join('\n')}`;
process.stdout.write(`${markdown}\n`);
if (args.markdown) await writeFile(args.markdown, markdown);
if (args.out) {
  await writeFile(
    args.out,
    JSON.stringify(
      { test: args.test, testPart: args.testPart, shuffleImages: args.shuffleImages, questions: test.length, results },
      null,
      1,
    ),
  );
}
