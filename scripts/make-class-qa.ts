/**
 * Class questions from COCO instance annotations, in COCO-QA's layout
 * (questions.txt, answers.txt, img_ids.txt, types.txt) plus stats.json:
 * "what animal is in the picture ?" → zebra, for each photo whose annotations
 * hold exactly one animal class (likewise vehicle and food).
 *
 *   npm run make:class-qa -- --captions ../shared/data/coco-dev/captions.json \
 *     --instances ../shared/data/coco-dev/instances.json --out .cache/coco-dev-classqa
 *
 * The captions file gives the photos (ids and file names); img_ids.txt holds its
 * ids: read it back with `readCocoQa(dir, await loadImageMap(captionsFile))`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cli } from '../src/cli/main.js';
import { loadCaptions } from '../src/data/captions.js';
import { loadCocoInstances } from '../src/data/coco-instances.js';
import { writeCocoQa } from '../src/data/cocoqa.js';
import { defaultWordTable } from '../src/grounding/words.js';
import { log } from '../src/log.js';
import { CLASS_QUESTION_SUPERCATEGORIES, classQuestions, detectedOnly } from '../src/qagen/class-questions.js';
import { readRegionSet } from '../src/data/regions.js';
import { qaStats, statsJson } from '../src/qagen/dataset.js';

const args = cli({
  usage: 'npm run make:class-qa --',
  summary: 'Class questions ("what animal is in the picture ?") from COCO instance annotations, in COCO-QA\'s layout plus stats.json.',
  example: [
    'npm run make:class-qa -- --captions ../shared/data/coco-dev/captions.json \\',
    '  --instances ../shared/data/coco-dev/instances.json --out .cache/coco-dev-classqa',
  ],
  notes: [
    `One question per photo and super-category (${CLASS_QUESTION_SUPERCATEGORIES.join(', ')}) whose annotations hold exactly`,
    'one class of it; the answer is the class\'s word in the word table ("zebra", "pizza"), type object. Photos with',
    'several classes of a super-category get no question of it.',
  ].join('\n'),
  options: {
    captions: { type: 'string', required: true, placeholder: 'file', description: 'COCO captions JSON: the photos (ids, file names)' },
    instances: { type: 'string', required: true, placeholder: 'file', description: 'COCO instances JSON of the same photos' },
    out: { type: 'string', required: true, output: 'dir', description: 'folder for questions.txt, answers.txt, …, stats.json' },
    regions: { type: 'string', placeholder: 'file', description: "keep only questions whose class this region cache's detections name" },
    detectedMinScore: { type: 'number', default: 0.2, description: 'with --regions: the lowest detection score that counts as seen' },
  },
});

const images = await loadCaptions(args.captions);
if (images.length === 0) throw new Error(`${args.captions} has no captioned images`);
const classes = await loadCocoInstances(args.instances);
if (!images.some((image) => classes.has(image.id))) {
  throw new Error(`${args.instances} annotates none of the images of ${args.captions}: pass the instances file of the same images`);
}
const table = defaultWordTable();
const report = classQuestions(images, classes, table);
const annotated = report.examples.length;
if (args.regions) {
  const set = await readRegionSet(args.regions);
  report.examples = detectedOnly(report.examples, new Map(set.keys.map((k, i) => [k, set.detections[i]!])), table, args.detectedMinScore);
}

await writeCocoQa(args.out, report.examples);
const stats = {
  captions: path.resolve(args.captions),
  instances: path.resolve(args.instances),
  photos: images.length,
  unannotatedPhotos: report.unannotated,
  ...(args.regions
    ? { regions: path.resolve(args.regions), detectedMinScore: args.detectedMinScore, questionsBeforeDetectedFilter: annotated }
    : {}),
  perSupercategory: report.perSupercategory,
  ...qaStats(report.examples),
};
await mkdir(args.out, { recursive: true });
await writeFile(path.join(args.out, 'stats.json'), statsJson(stats));
log.info(
  {
    out: args.out,
    questions: stats.questions,
    perSupercategory: Object.fromEntries(Object.entries(report.perSupercategory).map(([s, t]) => [s, t.questions])),
  },
  'wrote class questions',
);
