import { z } from 'zod';

/**
 * The server's replies about the loaded models as a whole (not one task's:
 * those are in caption/, vqa/, char/ reply.ts), written once: GET /models
 * validates and documents with its schema, and the page (web/api.ts) reads
 * these types. Imports nothing but zod, so the browser code can.
 */

export const TaskSchema = z.enum(['caption', 'vqa', 'generate']);

export const ModelCardSchema = z
  .object({
    task: TaskSchema,
    name: z.string(),
    version: z.string(),
    kind: z.string().describe('architecture family from config.json: caption-lstm, caption-grounded, vqa, char-rnn'),
    encoder: z.string().optional().describe('image encoder the model was trained on (image models)'),
    vocab_size: z.number().int().describe('words (caption), question words (vqa) or characters (generate)'),
    answers: z.number().int().optional().describe('answer classes (vqa)'),
    metrics: z.record(z.unknown()).optional().describe("the model card's scores from config.json, e.g. metrics.val"),
  })
  .strict();

export type ModelCard = z.infer<typeof ModelCardSchema>;

export const ModelsReplySchema = z
  .object({ models: z.array(ModelCardSchema) })
  .strict()
  .describe('every loaded model');

export type ModelsReply = z.infer<typeof ModelsReplySchema>;

/** A loaded model's training summary for the page's models view (GET /assets/training.json, not in the OpenAPI document). */
export const TrainingSummarySchema = z
  .object({
    task: TaskSchema,
    name: z.string(),
    trainingSeconds: z.number().optional(),
    epochsRun: z.number().optional(),
    examples: z.number().optional().describe('training examples, or characters (generate)'),
    curves: z.string().optional().describe("the training curves' SVG URL, when the model has a history"),
    description: z.string().optional().describe("the curves in words (the picture's alt text)"),
  })
  .strict();

export type TrainingSummary = z.infer<typeof TrainingSummarySchema>;

export const TrainingReplySchema = z.object({ models: z.array(TrainingSummarySchema) }).strict();

export type TrainingReply = z.infer<typeof TrainingReplySchema>;
