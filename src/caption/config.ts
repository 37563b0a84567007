import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { vocabSchema } from '../text/vocab.js';

/**
 * Everything needed to rebuild a caption decoder: one source of truth for
 * shapes, vocabulary and hyper-parameters, saved as config.json beside the weights.
 */
export const captionConfigSchema = z.object({
  kind: z.literal('caption-lstm'),
  name: z.string().min(1),
  version: z.string().min(1),
  encoder: z.string().min(1),
  featureDim: z.number().int().positive(),
  embedDim: z.number().int().positive(),
  hiddenDim: z.number().int().positive(),
  dropout: z.number().min(0).max(0.9),
  maxWords: z.number().int().positive(),
  minWordCount: z.number().int().positive(),
  vocab: vocabSchema,
  /** Free-form record of how the model was trained and scored. */
  training: z.record(z.unknown()).optional(),
  metrics: z.record(z.unknown()).optional(),
});

export type CaptionConfig = z.infer<typeof captionConfigSchema>;

export const CONFIG_FILE = 'config.json';

export async function readCaptionConfig(dir: string): Promise<CaptionConfig> {
  const file = path.join(dir, CONFIG_FILE);
  const parsed = captionConfigSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(`${file} is not a caption model config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
