import { z } from 'zod';
import { CONFIG_FILE, modelIdentityFields, readModelConfig } from '../nn/model-config.js';
import { charVocabSchema } from './vocab.js';

export const CELLS = ['lstm', 'rnn'] as const;
export type CellKind = (typeof CELLS)[number];

/**
 * Everything needed to rebuild a char-level language model, saved as
 * config.json beside the weights: the vocabulary travels with the model.
 */
export const charConfigSchema = z.object({
  kind: z.literal('char-rnn'),
  ...modelIdentityFields,
  /** 'lstm' (gates i, f, o, g) or 'rnn' (h = tanh(Wxh·x + Whh·h + b), as min-char-rnn). */
  cell: z.enum(CELLS),
  /** Embedding width; 0 means one-hot input (the first layer's W then has one row per character). */
  embedDim: z.number().int().min(0),
  hiddenDim: z.number().int().positive(),
  layers: z.number().int().min(1).max(3),
  /** Dropout on the input of each layer above the first and on the top layer's output. */
  dropout: z.number().min(0).max(0.9),
  vocab: charVocabSchema,
});

export type CharConfig = z.infer<typeof charConfigSchema>;

export { CONFIG_FILE };

export function readCharConfig(dir: string): Promise<CharConfig> {
  return readModelConfig(dir, charConfigSchema, 'char model');
}
