import { z } from 'zod';
import { BackendSchema, ModelRefSchema } from '../util/reply.js';

/**
 * The POST /generate reply and its stream's events, written once: the route
 * validates and documents with them, CharService's steps and result are
 * inferred from them. Imports nothing but zod.
 */

/** A generated character, and with candidates > 0 the likeliest ones at its step. */
export const StepSchema = z
  .object({
    char: z.string(),
    top: z
      .array(z.object({ char: z.string(), prob: z.number().describe('model probability (temperature 1, before top_k)') }).strict())
      .optional()
      .describe('the likeliest next characters, most likely first'),
  })
  .strict();

export type SampleStep = z.infer<typeof StepSchema>;
export type Candidate = NonNullable<SampleStep['top']>[number];

export const GenerateReplySchema = z
  .object({
    text: z.string().describe('the generated characters (the prime is not repeated)'),
    model: ModelRefSchema,
    backend: BackendSchema,
    seed: z.number().int().describe('the seed used: send it back to get the same text'),
    steps: z.array(StepSchema).optional().describe('only with candidates > 0: one per generated character'),
    timings_ms: z.object({ generate: z.number(), total: z.number().describe('includes waiting for a free slot') }).strict(),
  })
  .strict()
  .describe('the generated text (application/json), or with stream: true server-sent events (text/event-stream)');

export type GenerateReply = z.infer<typeof GenerateReplySchema>;

/** What CharService.generate gives: the reply less what the route adds (backend, seed, the total time). */
export const GenerateResultSchema = GenerateReplySchema.omit({ backend: true, seed: true }).extend({
  timings_ms: GenerateReplySchema.shape.timings_ms.omit({ total: true }),
});

export type GenerateResult = z.infer<typeof GenerateResultSchema>;

/** Payloads of the server-sent events (stream: true); the route adds the error event. */
export const TextEventSchema = z
  .object({ text: z.string(), steps: z.array(StepSchema).optional() })
  .strict()
  .describe('event: text');
export type TextEvent = z.infer<typeof TextEventSchema>;

export const DoneEventSchema = GenerateReplySchema.pick({ model: true, backend: true, seed: true, timings_ms: true }).describe(
  'event: done',
);
export type DoneEvent = z.infer<typeof DoneEventSchema>;
