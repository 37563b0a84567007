import { z } from 'zod';
import { BackendSchema, BoxSchema, ModelRefSchema } from '../util/reply.js';

/**
 * The POST /vqa reply, written once: the route validates and documents with
 * it, VqaService's result is its part that the service fills, and the page
 * (web/api.ts) reads these types. Imports nothing but zod.
 */

/** The region an answer's attention weighted most (region-attention models only). */
export const EvidenceSchema = z
  .object({
    box: BoxSchema,
    label: z.string().describe('the detected COCO class of the region, or "image" for the whole photo'),
    weight: z.number().describe("the region's attention weight (0..1), the largest of the question's attention"),
  })
  .strict()
  .describe('where the model looked: the region with the largest attention weight');

const AnswerSchema = z
  .object({
    answer: z.string(),
    score: z.number().describe('softmax probability'),
    evidence: EvidenceSchema.optional().describe('absent for models without attention over regions'),
  })
  .strict();

export const VqaReplySchema = z
  .object({
    question: z.string().describe('the question as read (trimmed)'),
    answers: z.array(AnswerSchema).describe('best first'),
    model: ModelRefSchema,
    backend: BackendSchema,
    unknown_words: z.array(z.string()).describe('question words the model never saw (read as <unk>)'),
    timings_ms: z
      .object({
        decode_image: z.number(),
        encode: z.number(),
        answer: z.number(),
        total: z.number().describe('includes reading the body and waiting for a free slot'),
      })
      .strict(),
  })
  .strict()
  .describe('ranked answers');

export type VqaReply = z.infer<typeof VqaReplySchema>;

/** What VqaService gives: the reply less what the route adds (the question as read, backend, the total time). */
export const VqaResultSchema = VqaReplySchema.omit({ question: true, backend: true }).extend({
  timings_ms: VqaReplySchema.shape.timings_ms.omit({ total: true }),
});

export type VqaResult = z.infer<typeof VqaResultSchema>;

export type Answer = VqaReply['answers'][number];
export type Evidence = z.infer<typeof EvidenceSchema>;
