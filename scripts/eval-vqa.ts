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
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { readFeatureSet } from '../src/data/features.js';
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
import type { QaExample } from '../src/data/qa.js';

const { values } = parseArgs({
  options: {
    test: { type: 'string' },
    'image-map': { type: 'string' },
    features: { type: 'string' },
    models: { type: 'string' },
    train: { type: 'string' },
    'train-image-map': { type: 'string' },
    'test-part': { type: 'string', default: 'all' },
    'train-part': { type: 'string', default: 'all' },
    'val-fraction': { type: 'string', default: '0.1' },
    seed: { type: 'string', default: '1234' },
    wups: { type: 'boolean', default: false },
    'shuffle-images': { type: 'boolean', default: false },
    out: { type: 'string' },
    markdown: { type: 'string' },
  },
});

const part = z.enum(['all', 'train', 'val']);
const args = z
  .object({
    test: z.string({ required_error: '--test SRC is required (COCO-QA folder, VQA v2 folder or QUESTIONS.json,ANNOTATIONS.json)' }),
    imageMap: z.string({ required_error: '--image-map is required: a pattern like "{id}.png" or a COCO JSON with images [{id, file_name}]' }),
    features: z.string({ required_error: '--features FILE is required (build it with npm run features)' }),
    models: z.string().default('').transform((s) => s.split(',').filter(Boolean)),
    train: z.string().optional(),
    trainImageMap: z.string().optional(),
    testPart: part,
    trainPart: part,
    valFraction: z.coerce.number().gt(0).lt(1),
    seed: z.coerce.number().int(),
    wups: z.boolean(),
    shuffleImages: z.boolean(),
    out: z.string().optional(),
    markdown: z.string().optional(),
  })
  .parse({ ...values, imageMap: values['image-map'], trainImageMap: values['train-image-map'], testPart: values['test-part'], trainPart: values['train-part'], valFraction: values['val-fraction'], shuffleImages: values['shuffle-images'] });

async function load(source: string, map: string, which: z.infer<typeof part>): Promise<QaExample[]> {
  const all = await loadQaSource(source, await loadImageMap(map));
  return which === 'all' ? all : splitByImage(all, args.valFraction, args.seed)[which];
}

if (args.models.length === 0 && !args.train) throw new Error('nothing to score: give --models DIR[,DIR…] and/or --train SRC (answer-prior baseline)');
const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const features = await readFeatureSet(args.features);
let test = await load(args.test, args.imageMap, args.testPart);
if (args.shuffleImages) {
  const keys = shuffle(test.map((e) => e.imageKey), rng(args.seed));
  test = test.map((e, i) => ({ ...e, imageKey: keys[i]! }));
}
const wups = args.wups ? await Wups.load() : undefined;
log.info({ backend, questions: test.length, wups: !!wups, shuffleImages: args.shuffleImages }, 'scoring VQA');

const results: Record<string, VqaScores> = {};
if (args.train) {
  const train = await load(args.train, args.trainImageMap ?? args.imageMap, args.trainPart);
  results['answer prior'] = scoreVqa(priorPredictions(train, test), test, { wups });
}
for (const dir of args.models) {
  const model = await VqaModel.load(dir);
  if (model.config.encoder !== features.encoder) throw new Error(`${dir} was trained on ${model.config.encoder} features; ${args.features} holds ${features.encoder}`);
  const t0 = performance.now();
  // A question whose image has no features counts as unanswered (wrong).
  results[`${model.config.arch} (${path.basename(dir)})`] = scoreVqa(predictAnswers(model, test, features), test, { wups });
  log.info({ model: dir, seconds: Math.round((performance.now() - t0) / 100) / 10 }, 'model scored');
  model.dispose();
}

const sections = Object.entries(results).map(([name, s]) => `### ${name}\n\n${formatVqaTable(s)}`);
const types = Object.keys(Object.values(results)[0]!.byType);
const names = Object.keys(results);
const summary = [
  `| type | n | ${names.join(' | ')} |`,
  `| --- | ---: | ${names.map(() => '---:').join(' | ')} |`,
  ...types.map((t) => `| ${t} | ${results[names[0]!]!.byType[t]!.count} | ${names.map((n) => (100 * results[n]!.byType[t]!.accuracy).toFixed(2)).join(' | ')} |`),
  `| **overall** | ${test.length} | ${names.map((n) => (100 * results[n]!.accuracy).toFixed(2)).join(' | ')} |`,
].join('\n');
const markdown = `## Accuracy (%) by question type\n\n${summary}\n\n${sections.join('\n')}`;
process.stdout.write(`${markdown}\n`);
if (args.markdown) await writeFile(args.markdown, markdown);
if (args.out) {
  await mkdir(path.dirname(args.out), { recursive: true });
  await writeFile(args.out, JSON.stringify({ test: args.test, testPart: args.testPart, shuffleImages: args.shuffleImages, questions: test.length, results }, null, 1));
}
