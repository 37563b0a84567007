/**
 * Questions from captions, COCO-QA style (Ren et al. 2015), written in
 * COCO-QA's layout (questions.txt, answers.txt, img_ids.txt, types.txt) plus
 * stats.json.
 *
 *   npm run make:qa -- --captions ../shared/data/flickr8k/captions_train.json --out .cache/flickr8k-qa/train \
 *     [--max-answer-share 0.12,number=0.5] [--seed 0]
 *
 * --max-answer-share caps each answer's share of its type's questions by
 * down-sampling (seeded): one share for all types ("0.2") or a default plus
 * per-type shares ("0.12,number=0.5").
 *
 * img_ids.txt holds the COCO image ids of the captions file; read it back with
 * `readCocoQa(dir, await loadImageMap(captionsFile))`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { progress } from '../src/cli/progress.js';
import { loadCaptions } from '../src/data/captions.js';
import { writeCocoQa } from '../src/data/cocoqa.js';
import { log } from '../src/log.js';
import { captionsToQa, parseAnswerShare, qaStats } from '../src/qagen/dataset.js';

const { values } = parseArgs({
  options: {
    captions: { type: 'string' },
    out: { type: 'string' },
    'max-answer-share': { type: 'string' },
    seed: { type: 'string', default: '0' },
    top: { type: 'string', default: '20' },
  },
});
const args = z
  .object({
    captions: z.string({ required_error: '--captions FILE (COCO or Karpathy captions JSON) is required' }),
    out: z.string({ required_error: '--out DIR is required' }),
    'max-answer-share': z
      .string()
      .transform((text, ctx) => {
        try {
          return parseAnswerShare(text);
        } catch (err) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
          return z.NEVER;
        }
      })
      .optional(),
    seed: z.coerce.number().int({ message: '--seed must be an integer' }),
    top: z.coerce.number().int().positive(),
  })
  .parse(values);

const started = Date.now();
const images = await loadCaptions(args.captions);
if (images.length === 0) throw new Error(`${args.captions} has no captioned images`);
const bar = progress('make-qa', images.length, 15);
const report = captionsToQa(images, {
  maxAnswerShare: args['max-answer-share'],
  seed: args.seed,
  onProgress: (done) => bar.update(done),
});
bar.stop();

await writeCocoQa(args.out, report.examples);
const stats = {
  source: path.resolve(args.captions),
  captionedImages: images.length,
  captions: report.captions,
  captionsWithoutQuestions: report.captionsWithoutQuestions,
  duplicatesMerged: report.duplicates,
  conflictingDropped: report.conflicting,
  maxAnswerShare: args['max-answer-share'] ?? null,
  seed: args.seed,
  cappedDropped: report.capped,
  questionsBeforeCap: report.beforeCap,
  uncappableTypes: report.uncappable,
  ...qaStats(report.examples, args.top),
};
await mkdir(args.out, { recursive: true });
// [answer, count] pairs on one line each.
const json = JSON.stringify(stats, null, 2).replace(/\[\s+("(?:[^"\\]|\\.)*"),\s+(\d+)\s+\]/g, '[$1, $2]');
await writeFile(path.join(args.out, 'stats.json'), `${json}\n`);
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
