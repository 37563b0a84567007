import type { DetectedObject } from '../../../src/encoder/types.js';
import { COCO_LABELS } from '../../../src/encoder/types.js';
import type { VqaConfig } from '../../../src/vqa/config.js';
import { SPECIALS } from '../../../src/text/vocab.js';

/** A small region-att config: R-wide regions, a handful of words and answers. */
/** Width of the tiny models' global image vector. */
export const TINY_G = 6;

export function tinyRegionConfig(
  R: number,
  over: Omit<Partial<NonNullable<VqaConfig['region']>>, 'global'> = {},
  stats = false,
  G = TINY_G,
): VqaConfig {
  return {
    kind: 'vqa',
    arch: 'region-att',
    name: 'tiny-region',
    version: '1',
    encoder: 'mobilenet_v2+centernet',
    featureDim: R,
    ...(stats
      ? {
          featureMean: Array.from({ length: R }, (_, c) => (c % 7) / 10),
          featureStd: Array.from({ length: R }, (_, c) => 0.5 + (c % 5) / 4),
        }
      : {}),
    embedDim: 8,
    hiddenDim: 12,
    dropout: 0.3,
    maxQuestionWords: 8,
    minWordCount: 1,
    questionVocab: [...SPECIALS, 'what', 'animal', 'is', 'this', 'how', 'many', 'dogs', 'color', 'the', 'dog'],
    answers: ['dog', 'two', 'red', 'grass', 'man'],
    region: {
      maxRegions: 4,
      minScore: 0.2,
      detectMinScore: 0.1,
      global: { dim: G, mean: Array.from({ length: G }, (_, c) => c / 10), std: Array.from({ length: G }, (_, c) => 1 + c / 10) },
      projDim: 10,
      attendDim: 6,
      count: true,
      colour: true,
      pointer: true,
      ...over,
    },
  };
}

/** A detection of COCO class `label`. */
export function det(label: string, score: number, box: [number, number, number, number] = [0.1, 0.1, 0.3, 0.3]): DetectedObject {
  const classId = COCO_LABELS.indexOf(label as (typeof COCO_LABELS)[number]);
  if (classId < 0) throw new Error(`not a COCO class: ${label}`);
  return { label, classId, score, box };
}
