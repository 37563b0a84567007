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
  /** The encoder whose pass gives the regions (REGION_ENCODER). */
  encoder: z.string().min(1),
  /** Width R of a region descriptor. */
  regionDim: z.number().int().positive(),
  embedDim: z.number().int().positive(),
  /** Width H of both LSTMs' states (and of the projected region features the context is made of). */
  hiddenDim: z.number().int().positive(),
  /** Width A of the additive attention layer. */
  attendDim: z.number().int().positive(),
  /** Standardisation of a region descriptor (the training regions' mean and std), applied before every projection. */
  inputMean: z.array(z.number()).optional(),
  inputStd: z.array(z.number()).optional(),
  dropout: z.number().min(0).max(0.9).default(0.5),
  /** Longest caption in words (without the end token). */
  maxWords: z.number().int().positive().default(20),
  /** Regions the decoder sees: detections with score ≥ regionMinScore, at most maxRegions, best first, then the whole image. */
  maxRegions: z.number().int().positive().default(10),
  regionMinScore: z.number().min(0).max(1).default(0.2),
  /**
   * Issue 21's unsupported-class rule: a caption may name a COCO class only when a detection of
   * that class scores at least this (supportMinScore(config): regionMinScore when absent, i.e. any
   * region the decoder sees supports its class; lower, weaker detections the decoder does not
   * attend to support theirs too). Chosen on Flickr8k val, never on coco-dev.
   */
  supportMinScore: z.number().min(0).max(1).optional(),
  /**
   * Neural Baby Talk's slots on the attention (issue 21 item 2): the vocabulary holds <slot> and
   * <slots>; a slot is filled by the region the step's attention points at (its shares α over the
   * detected regions, renormalised), written as that region's class word, and class words are
   * never written otherwise. So the pointer is the attention, and a class word's link is the region it came from.
   */
  slots: z.boolean().optional(),
  /**
   * The visual sentinel (Lu et al. 2017): on unless false. false is the ablation with Up-Down's plain
   * soft attention (β = 0); its sentinel weights are kept but unused.
   */
  sentinel: z.boolean().optional(),
  /** Decoding: never repeat an n-gram of this many words (0 or absent: off); see StepRules. */
  noRepeatNgram: z.number().int().min(0).optional(),
  vocab: vocabSchema,
});

export type AttentionConfig = z.infer<typeof attentionConfigSchema>;

export { CONFIG_FILE };

/** The detection score a kept region needs to support its class: the config's, or regionMinScore. */
export function supportMinScore(config: Pick<AttentionConfig, 'supportMinScore' | 'regionMinScore'>): number {
  return config.supportMinScore ?? config.regionMinScore;
}

export function readAttentionConfig(dir: string): Promise<AttentionConfig> {
  return readModelConfig(dir, attentionConfigSchema, 'attention caption model');
}
