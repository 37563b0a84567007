import { z } from 'zod';
import { BackendSchema, ModelRefSchema } from '../util/reply.js';

/**
 * The POST /vqa reply, written once: the route validates and documents with
 * it, VqaService's result is its part that the service fills, and the page
 * (web/api.ts) reads these types. Imports nothing but zod.
 */

export const VqaReplySchema = z
  .object({
    question: z.string().describe('the question as read (trimmed)'),
    answers: z.array(z.object({ answer: z.string(), score: z.number().describe('softmax probability') }).strict()).describe('best first'),
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
