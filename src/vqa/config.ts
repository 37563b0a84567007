import { z } from 'zod';
import { imageInputFields } from '../nn/feature-norm.js';
import { CONFIG_FILE, modelIdentityFields, readModelConfig } from '../nn/model-config.js';
import { vocabSchema } from '../text/vocab.js';

/**
 * The architectures of Ren et al. 2015:
 * - vis-lstm: the image vector, mapped linearly to the word-embedding size,
 *   is the first "word" of the question; the LSTM's last state → softmax.
 * - img-bow: image vector ‖ bag of word embeddings → softmax (a linear classifier).
 * - 2vis-blstm: the image as the first and the last word (two mappings),
 *   read by a forward and a backward LSTM whose last states are concatenated.
 * - blind-lstm: the question alone (the "question-only" baseline).
 * And region-att (issue 22): the question's LSTM state attends over the image's
 * regions (src/vqa/region/model.ts), with counts, colours and a pointer answer.
 */
export const VQA_ARCHS = ['vis-lstm', '2vis-blstm', 'img-bow', 'blind-lstm', 'region-att'] as const;
export type VqaArch = (typeof VQA_ARCHS)[number];

/** One source of truth for a VQA model's shapes, vocabularies and hyper-parameters (config.json). */
export const vqaConfigSchema = z.object({
  kind: z.literal('vqa'),
  arch: z.enum(VQA_ARCHS),
  ...modelIdentityFields,
  ...imageInputFields,
  /**
   * The image vector is [v; d]: the encoder's features, then each COCO class's
   * best detection score from the same forward pass (featureDim counts both).
   */
  detectionScores: z.boolean().optional(),
  embedDim: z.number().int().positive(),
  /** LSTM width (unused by img-bow). */
  hiddenDim: z.number().int().positive(),
  dropout: z.number().min(0).max(0.9),
  /** Questions are cut to this many words. */
  maxQuestionWords: z.number().int().positive(),
  minWordCount: z.number().int().positive(),
  /** Question words; ids are positions (starts with <pad>, <start>, <end>, <unk>). */
  questionVocab: vocabSchema,
  /** Answer classes, most frequent first; the softmax's output order. */
  answers: z.array(z.string().min(1)).min(2),
  /** region-att only: featureDim is a region descriptor's width, featureMean/Std its statistics. */
  region: z
    .object({
      /** Regions read per image: the detections at score ≥ minScore, at most maxRegions, then the whole image. */
      maxRegions: z.number().int().positive(),
      minScore: z.number().min(0).max(1),
      /** The detector's floor when the regions were made (the region cache's --min-score): serving detects at it too, so counts match. */
      detectMinScore: z.number().min(0).max(1),
      /** The image's global vector (the encoder's pooled features, as VIS+LSTM reads them): its width and statistics. */
      global: z.object({ dim: z.number().int().positive(), mean: z.array(z.number()), std: z.array(z.number()) }).strict(),
      /** Width of the projected regions, the attention and the fused vector. */
      projDim: z.number().int().positive(),
      attendDim: z.number().int().positive(),
      /** Read the count of the named class's detections (inputs.ts countFeature). */
      count: z.boolean(),
      /** Read the regions' colour descriptors (else those columns are zeroed). */
      colour: z.boolean(),
      /** Answers may be a region's class word, through a pointer over the regions. */
      pointer: z.boolean(),
      /** Answer rule: a word naming a COCO class only when a region read is of that class (chosen on val; not trained). */
      supportedOnly: z.boolean().optional(),
      /**
       * Answer rule for a question that asks for a super-category ("what animal …"): 'kind', only that
       * super-category's class words; 'seen', only the classes of its regions of that super-category when
       * it has any, else as 'kind' (chosen on val; not trained).
       */
      kindAnswers: z.enum(['kind', 'seen']).optional(),
    })
    .strict()
    .optional(),
});

export type VqaConfig = z.infer<typeof vqaConfigSchema>;

export { CONFIG_FILE };

export function readVqaConfig(dir: string): Promise<VqaConfig> {
  return readModelConfig(dir, vqaConfigSchema, 'VQA model');
}
