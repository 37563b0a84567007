import { MAX_CONSTRAINTS } from '../../search/constrained.js';
import { z } from 'zod';
import { COCO_LABELS } from '../../encoder/types.js';
import { CONFIG_FILE, modelIdentityFields, readModelConfig } from '../../nn/model-config.js';
import { vocabSchema } from '../../text/vocab.js';
import { SLOT, SLOTS, SLOT_ID, SLOTS_ID } from './slots.js';

/**
 * A grounded caption decoder's config.json: shapes, vocabulary (with the slot
 * tokens at fixed ids), how detections become entries, and the standardisation
 * statistics of its image input [v; d] (featureDim + 80 values).
 */
/** Detections this sure are worth forcing into a caption (the API lists objects from 0.3 too). */
export const DEFAULT_CONSTRAIN_MIN_SCORE = 0.3;

export const groundedConfigSchema = z
  .object({
    kind: z.literal('caption-grounded'),
    ...modelIdentityFields,
    encoder: z.string().min(1),
    featureDim: z.number().int().positive(),
    /** Mean and std of [v; d]: featureDim encoder values, then one detection score per COCO class. */
    inputMean: z.array(z.number()).optional(),
    inputStd: z.array(z.number().positive()).optional(),
    embedDim: z.number().int().positive(),
    hiddenDim: z.number().int().positive(),
    /** Width of the pointer's attention layer. */
    attendDim: z.number().int().positive(),
    dropout: z.number().min(0).max(0.9),
    maxWords: z.number().int().positive(),
    minWordCount: z.number().int().positive(),
    maxEntries: z.number().int().positive(),
    entryMinScore: z.number().min(0).max(1),
    /**
     * Beam mode: finished captions are re-ranked by their score plus this
     * weight × the detection scores of the objects they name (0: off). A soft
     * form of constrained beam search (Anderson et al. 2017).
     */
    coverageWeight: z.number().min(0).default(0),
    /**
     * Beam mode: hard constrained beam search (Anderson et al. 2017) that makes
     * the caption name the image's N surest detections (0: off; then
     * coverageWeight re-ranks instead), those scoring at least constrainMinScore.
     */
    constrainTop: z.number().int().min(0).max(MAX_CONSTRAINTS).default(0),
    constrainMinScore: z.number().min(0).max(1).default(DEFAULT_CONSTRAIN_MIN_SCORE),
    /** Decoding writes a class word ("dog", "man") only through a slot, i.e. only when that class was detected. */
    classWordsBySlotOnly: z.boolean().default(false),
    /** Decoding adds this × log(detection score) to the pointer's scores: surer detections are named first (0: off). */
    pointerScorePrior: z.number().min(0).default(0),
    vocab: vocabSchema.refine((v) => v[SLOT_ID] === SLOT && v[SLOTS_ID] === SLOTS, {
      message: `a grounded vocabulary has ${SLOT} and ${SLOTS} right after the specials`,
    }),
  })
  .refine((c) => !c.inputMean || c.inputMean.length === c.featureDim + COCO_LABELS.length, {
    message: `inputMean must have featureDim + ${COCO_LABELS.length} values`,
    path: ['inputMean'],
  })
  .refine((c) => !c.inputStd || c.inputStd.length === c.featureDim + COCO_LABELS.length, {
    message: `inputStd must have featureDim + ${COCO_LABELS.length} values`,
    path: ['inputStd'],
  });

export type GroundedConfig = z.infer<typeof groundedConfigSchema>;

export { CONFIG_FILE };

export function readGroundedConfig(dir: string): Promise<GroundedConfig> {
  return readModelConfig(dir, groundedConfigSchema, 'grounded caption model');
}
