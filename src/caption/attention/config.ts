import { z } from 'zod';
import { CONFIG_FILE, modelIdentityFields, readModelConfig } from '../../nn/model-config.js';
import { vocabSchema } from '../../text/vocab.js';

/**
 * An attention caption decoder's config.json (Up-Down with a visual sentinel):
 * its shapes and vocabulary. `regionDim` is the width R of one region
 * descriptor (src/encoder/regions.ts: C + 87 for a C-channel feature grid).
 */
export const attentionConfigSchema = z.object({
  kind: z.literal('caption-attention'),
  ...modelIdentityFields,
  /** Width R of a region descriptor. */
  regionDim: z.number().int().positive(),
  embedDim: z.number().int().positive(),
  /** Width H of both LSTMs' states (and of the projected region features the context is made of). */
  hiddenDim: z.number().int().positive(),
  /** Width A of the additive attention layer. */
  attendDim: z.number().int().positive(),
  vocab: vocabSchema,
});

export type AttentionConfig = z.infer<typeof attentionConfigSchema>;

export { CONFIG_FILE };

export function readAttentionConfig(dir: string): Promise<AttentionConfig> {
  return readModelConfig(dir, attentionConfigSchema, 'attention caption model');
}
