import { z } from 'zod';
import { BackendSchema, BoxSchema, ModelRefSchema } from '../util/reply.js';

/**
 * The POST /caption reply, written once: the route validates and documents
 * with it, CaptionService's result is its part that the service fills, and
 * the page (web/api.ts) reads these types. Imports nothing but zod.
 */

export const CaptionReplySchema = z
  .object({
    captions: z
      .array(
        z
          .object({
            text: z.string(),
            logprob: z.number().describe('sum of word log-probabilities'),
            words: z
              .array(
                z
                  .object({
                    text: z.string(),
                    object: z.number().int().optional().describe('index into `objects` of the detected object this word names'),
                  })
                  .strict(),
              )
              .describe('the caption word by word (joined by spaces they give `text`)'),
          })
          .strict(),
      )
      .describe('best first in beam mode'),
    objects: z
      .array(
        z
          .object({
            label: z.string().describe('COCO class'),
            score: z.number().describe("the detector's best score for this class"),
            count: z.number().int().describe('instances found'),
            box: BoxSchema.describe("the best instance's box"),
            boxes: z.array(BoxSchema).describe('the box of each instance counted (score ≥ 0.3), best first'),
          })
          .strict(),
      )
      .describe('objects CenterNet detected (score ≥ 0.3, or named by a caption), one entry per class, best first'),
    model: ModelRefSchema,
    backend: BackendSchema,
    seed: z.number().int().optional().describe('sample mode only: the seed used, to reproduce the same captions'),
    timings_ms: z
      .object({
        decode_image: z.number(),
        encode: z.number(),
        generate: z.number(),
        total: z.number().describe('includes reading the body and waiting for a free slot'),
      })
      .strict(),
  })
  .strict()
  .describe('n captions with their log-probabilities, and the objects their words name');

export type CaptionReply = z.infer<typeof CaptionReplySchema>;

/** What CaptionService gives: the reply less what the route adds (backend, seed, the total time). */
export const CaptionResultSchema = CaptionReplySchema.omit({ backend: true, seed: true }).extend({
  timings_ms: CaptionReplySchema.shape.timings_ms.omit({ total: true }),
});

export type CaptionResult = z.infer<typeof CaptionResultSchema>;

/** A caption: its text, log-probability and words. */
export type ReportedCaption = CaptionReply['captions'][number];
/** A caption's word; `object` indexes the reply's objects. */
export type CaptionWord = ReportedCaption['words'][number];
/** A detected class as the API reports it: boxes are x, y, w, h as fractions of the image. */
export type ReportedObject = CaptionReply['objects'][number];
export type Box = ReportedObject['box'];
