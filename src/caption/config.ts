import { z } from 'zod';
import { imageInputFields } from '../nn/feature-norm.js';
import { CONFIG_FILE, modelIdentityFields, readModelConfig } from '../nn/model-config.js';
import { vocabSchema } from '../text/vocab.js';

/**
 * Everything needed to rebuild a caption decoder: one source of truth for
 * shapes, vocabulary and hyper-parameters, saved as config.json beside the weights.
 */
export const captionConfigSchema = z.object({
  kind: z.literal('caption-lstm'),
  ...modelIdentityFields,
  ...imageInputFields,
  embedDim: z.number().int().positive(),
  hiddenDim: z.number().int().positive(),
  dropout: z.number().min(0).max(0.9),
  maxWords: z.number().int().positive(),
  minWordCount: z.number().int().positive(),
  vocab: vocabSchema,
});

export type CaptionConfig = z.infer<typeof captionConfigSchema>;

export { CONFIG_FILE };

export function readCaptionConfig(dir: string): Promise<CaptionConfig> {
  return readModelConfig(dir, captionConfigSchema, 'caption model');
}
