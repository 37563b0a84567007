import { z } from 'zod';
import { CONFIG_FILE, readModelConfig } from '../nn/model-config.js';
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
  /**
   * Per-dimension mean and standard deviation of the training features: the
   * decoder standardises v before h0 = tanh(Wih·v), so the part that differs
   * between images is not swamped by what all images share.
   */
  featureMean: z.array(z.number()).optional(),
  featureStd: z.array(z.number().positive()).optional(),
  /** Free-form record of how the model was trained and scored. */
  training: z.record(z.unknown()).optional(),
  metrics: z.record(z.unknown()).optional(),
});

export type CaptionConfig = z.infer<typeof captionConfigSchema>;

/** Per-dimension mean and std of the given feature rows (std floored so dead units stay finite). */
export function featureStats(data: Float32Array, dim: number, rows: Iterable<number>): { mean: number[]; std: number[] } {
  const sum = new Float64Array(dim);
  const sq = new Float64Array(dim);
  let n = 0;
  for (const r of rows) {
    for (let k = 0; k < dim; k++) {
      const x = data[r * dim + k]!;
      sum[k] = sum[k]! + x;
      sq[k] = sq[k]! + x * x;
    }
    n++;
  }
  const mean = Array.from(sum, (s) => s / Math.max(n, 1));
  const std = Array.from(sq, (s, k) => Math.sqrt(Math.max(s / Math.max(n, 1) - mean[k]! ** 2, 0)));
  return { mean, std: std.map((s) => (s > 1e-3 ? s : 1)) };
}

export { CONFIG_FILE };

export function readCaptionConfig(dir: string): Promise<CaptionConfig> {
  return readModelConfig(dir, captionConfigSchema, 'caption model');
}
