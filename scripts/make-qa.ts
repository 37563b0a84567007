/**
 * Questions from captions, COCO-QA style (Ren et al. 2015), written in
 * COCO-QA's layout (questions.txt, answers.txt, img_ids.txt, types.txt) plus
 * stats.json.
 *
 *   npm run make:qa -- --captions ../shared/data/flickr8k/captions_train.json --out .cache/flickr8k-qa/train \
 *     [--max-answer-share 0.12,number=0.5] [--seed 0] [--instances ../shared/data/coco-dev/instances.json]
 *
 * --max-answer-share caps each answer's share of its type's questions by
 * down-sampling (seeded): one share for all types ("0.2") or a default plus
 * per-type shares ("0.12,number=0.5").
 *
 * --class-questions adds "what animal is in the picture ?" (vehicle, food) where the
 * captions name exactly one class of it, at least twice (src/qagen/class-questions.ts).
 *
 * --instances (COCO instance annotations of the same images) keeps only the
 * number questions whose count the annotations confirm (src/qagen/count-check.ts).
 *
 * img_ids.txt holds the COCO image ids of the captions file; read it back with
 * `readCocoQa(dir, await loadImageMap(captionsFile))`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cli, UsageError } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { loadCaptions } from '../src/data/captions.js';
import { loadCocoInstanceCounts } from '../src/data/coco-instances.js';
import { writeCocoQa } from '../src/data/cocoqa.js';
import { COCOQA_TYPES } from '../src/data/qa.js';
import { log } from '../src/log.js';
import { defaultWordTable } from '../src/grounding/words.js';
import { captionClassQuestions, detectedOnly } from '../src/qagen/class-questions.js';
import { readRegionSet } from '../src/data/regions.js';
import { countCheck } from '../src/qagen/count-check.js';
import { captionsToQa, parseAnswerShare, qaStats, statsJson } from '../src/qagen/dataset.js';

const args = cli({
  usage: 'npm run make:qa --',
  summary: "Questions from captions, COCO-QA style (Ren et al. 2015), written in COCO-QA's layout plus stats.json.",
  example: [
    'npm run make:qa -- --captions ../shared/data/flickr8k/captions_train.json --out .cache/flickr8k-qa/train \\',
    '  --max-answer-share 0.1,color=0.15,number=0.5 --seed 0',
    'npm run make:qa -- --captions ../shared/data/coco-dev/captions.json --instances ../shared/data/coco-dev/instances.json \\',
    '  --out .cache/coco-dev-qa',
  ],
  notes: [
    "--max-answer-share caps each answer's share of its type's questions by down-sampling (seeded): one share for",
    'all types ("0.2") or a default plus per-type shares ("0.12,number=0.5").',
    '--instances keeps only the number questions whose object (via the word table) has exactly that many annotated',
    'instances in the photo; the other types pass. Its image ids must be those of the captions file.',
  ].join('\n'),
  options: {
    captions: { type: 'string', required: true, placeholder: 'file', description: 'COCO or Karpathy captions JSON' },
    out: { type: 'string', required: true, output: 'dir', description: 'folder for questions.txt, answers.txt, …, stats.json' },
    instances: { type: 'string', placeholder: 'file', description: 'COCO instances JSON: check number questions against it' },
    maxAnswerShare: { type: 'string', placeholder: 'shares', description: "cap each answer's share of its type's questions" },
    seed: { type: 'number', int: true, default: 0, description: 'random seed for the down-sampling' },
    top: { type: 'number', int: true, min: 1, default: 20, description: 'answers listed per type in stats.json' },
    minAgree: {
      type: 'number',
      int: true,
      min: 1,
      default: 1,
      description: "keep a question only if this many of the photo's captions hold its answer word",
    },
    types: { type: 'string', placeholder: 'list', description: 'keep only these question types (object,number,color,location)' },
    classQuestions: {
      type: 'boolean',
      description: 'also ask "what animal/vehicle/food is in the picture ?" where the captions name one such class, at least twice',
    },
    regions: {
      type: 'string',
      placeholder: 'file',
      description: "with --class-questions: keep only those whose class this region cache's detections name",
    },
    detectedMinScore: { type: 'number', default: 0.2, description: 'with --regions: the lowest detection score that counts as seen' },
  },
});
const maxAnswerShare = args.maxAnswerShare === undefined ? undefined : parseShares(args.maxAnswerShare);

/** parseAnswerShare's messages name the flag already; a bad share is a usage error (exit 2). */
function parseShares(text: string): ReturnType<typeof parseAnswerShare> {
  try {
    return parseAnswerShare(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** --types: a comma-separated subset of COCO-QA's four types. */
function parseTypes(text: string): Set<string> {
  const list = text.split(',').map((t) => t.trim());
  const bad = list.filter((t) => !(COCOQA_TYPES as readonly string[]).includes(t));
  if (bad.length > 0 || list.length === 0) throw new UsageError(`--types: use ${COCOQA_TYPES.join(', ')}; got '${bad.join(',') || text}'`);
  return new Set(list);
}

const started = Date.now();
const images = await loadCaptions(args.captions);
if (images.length === 0) throw new Error(`${args.captions} has no captioned images`);
const counts = args.instances === undefined ? undefined : await loadCocoInstanceCounts(args.instances);
if (counts && !images.some((image) => counts.has(image.id))) {
  throw new Error(`${args.instances} annotates none of the images of ${args.captions}: pass the instances file of the same images`);
}
const check = counts && countCheck(defaultWordTable(), counts);
const types = args.types === undefined ? undefined : parseTypes(args.types);
if (args.regions !== undefined && !args.classQuestions)
  throw new UsageError('--regions filters the class questions: add --class-questions');
const classQa = args.classQuestions ? captionClassQuestions(images, defaultWordTable()) : undefined;
const classQuestionsBeforeDetectedFilter = classQa?.examples.length;
if (classQa && args.regions !== undefined) {
  const set = await readRegionSet(args.regions);
  const seen = new Map(set.keys.map((k, i) => [k, set.detections[i]!]));
  classQa.examples = detectedOnly(classQa.examples, seen, defaultWordTable(), args.detectedMinScore);
}
const bar = progress('make-qa', images.length, 15);
const report = captionsToQa(images, {
  extra: classQa?.examples,
  maxAnswerShare,
  seed: args.seed,
  keep: (qa, image) => (types === undefined || types.has(qa.type)) && (check?.keep(qa, image) ?? true),
  minAgree: args.minAgree,
  onProgress: (done) => bar.update(done),
});
bar.stop();

await writeCocoQa(args.out, report.examples);
const stats = {
  source: path.resolve(args.captions),
  captionedImages: images.length,
  captions: report.captions,
  captionsWithoutQuestions: report.captionsWithoutQuestions,
  instances: args.instances === undefined ? null : path.resolve(args.instances),
  // Number questions per caption, before the merge: only "match" is kept (src/qagen/count-check.ts).
  numberQuestionsChecked: check?.verdicts ?? null,
  // Class questions from the captions (src/qagen/class-questions.ts), before the cap.
  classQuestions: classQa?.perSupercategory ?? null,
  ...(args.regions === undefined
    ? {}
    : { regions: path.resolve(args.regions), detectedMinScore: args.detectedMinScore, classQuestionsBeforeDetectedFilter }),
  classQuestionsKept: classQa?.examples.length ?? null,
  duplicatesMerged: report.duplicates,
  conflictingDropped: report.conflicting,
  minAgree: args.minAgree,
  unconfirmedDropped: report.unconfirmed,
  types: types === undefined ? null : [...types],
  maxAnswerShare: maxAnswerShare ?? null,
  seed: args.seed,
  cappedDropped: report.capped,
  questionsBeforeCap: report.beforeCap,
  uncappableTypes: report.uncappable,
  ...qaStats(report.examples, args.top),
};
await mkdir(args.out, { recursive: true });
await writeFile(path.join(args.out, 'stats.json'), statsJson(stats));
log.info(
  {
    out: args.out,
    questions: stats.questions,
    imagesWithQuestions: stats.images,
    perType: Object.fromEntries(Object.entries(stats.perType).map(([t, s]) => [t, s.questions])),
    seconds: Math.round((Date.now() - started) / 1000),
  },
  'wrote COCO-QA split',
);
if (report.uncappable.length > 0) {
  log.warn({ types: report.uncappable }, 'fewer distinct answers than 1 / max-answer-share: these types were not capped');
}
