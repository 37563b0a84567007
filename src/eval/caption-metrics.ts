/**
 * coco-caption style evaluation of generated captions: BLEU-1..4, ROUGE-L and
 * CIDEr-D over the images that have a hypothesis. Pure: no I/O.
 *
 * Like COCOEvalCap, the evaluated corpus is the set of hypothesis ids; references
 * of other images are ignored, including for CIDEr-D's document frequencies and
 * log(N) (so scores depend on which images are evaluated together).
 */
import { corpusBleu, type Tokens } from './bleu.js';
import { ciderD } from './cider.js';
import { rougeL } from './rouge.js';
import { normalizeCaption } from './tokenize.js';

export type CaptionId = string | number;

export interface CaptionScores {
  bleu1: number;
  bleu2: number;
  bleu3: number;
  bleu4: number;
  rougeL: number;
  ciderD: number;
}

/** Human-readable id that keeps 7 and "7" apart (Map keys are compared strictly). */
function describeId(id: CaptionId): string {
  return typeof id === 'number' ? String(id) : JSON.stringify(id);
}

/**
 * Score hypotheses against references after normalising both with
 * normalizeCaption. Throws if there are no hypotheses, or if a hypothesis id has
 * no (or an empty list of) references.
 */
export function scoreCaptions(refs: ReadonlyMap<CaptionId, readonly string[]>, hyps: ReadonlyMap<CaptionId, string>): CaptionScores {
  if (hyps.size === 0) throw new Error('scoreCaptions: no hypotheses to score');

  const hypTokens: Tokens[] = [];
  const refTokens: Tokens[][] = [];
  for (const [id, hyp] of hyps) {
    const imageRefs = refs.get(id);
    if (imageRefs === undefined || imageRefs.length === 0) {
      throw new Error(`scoreCaptions: no references for hypothesis id ${describeId(id)}`);
    }
    hypTokens.push(normalizeCaption(hyp));
    refTokens.push(imageRefs.map(normalizeCaption));
  }

  const [bleu1, bleu2, bleu3, bleu4] = corpusBleu(hypTokens, refTokens);
  return {
    bleu1,
    bleu2,
    bleu3,
    bleu4,
    rougeL: rougeL(hypTokens, refTokens).score,
    ciderD: ciderD(hypTokens, refTokens).score,
  };
}
