import { COCO_LABELS } from '../../encoder/types.js';
import { wordFor, type WordTable } from '../../grounding/words.js';
import type { Vocab } from '../../text/vocab.js';
import { SLOT_ID, SLOTS_ID } from '../grounded/slots.js';

/**
 * A slots model's searches see one flat token space: the V vocabulary ids, then one token per
 * (class, number, word): V + ((2·class + plural)·F + f), f indexing the class's words of that number
 * (fineCandidates; f = 0 with no word: the word table's). So a token says what it writes without the
 * search state, and SCST rewards a sampled caption from its ids alone. Pure functions.
 */

/** What filling a slot needs: each class's words (singular, plural) and F, the most words any has. */
export interface SlotRules {
  candidates: readonly { singular: readonly number[]; plural: readonly number[] }[];
  fineWidth: number;
}

export function slotRules(candidates: SlotRules['candidates']): SlotRules {
  return { candidates, fineWidth: Math.max(1, ...candidates.flatMap((c) => [c.singular.length, c.plural.length])) };
}

/** Width of the flat token space. */
export const slotVocabSize = (V: number, rules: SlotRules): number => V + COCO_LABELS.length * 2 * rules.fineWidth;

/** A slot token: its class, number, and the vocabulary word it writes (−1: the word table's word, not in the vocabulary). */
export interface SlotToken {
  classId: number;
  plural: boolean;
  word: number;
}

export function slotTokenId(V: number, rules: SlotRules, classId: number, plural: boolean, f: number): number {
  return V + (2 * classId + (plural ? 1 : 0)) * rules.fineWidth + f;
}

/** The slot a flat token is, or undefined for a vocabulary word. */
export function decodeSlotToken(token: number, V: number, rules: SlotRules): SlotToken | undefined {
  if (token < V) return undefined;
  const k = token - V;
  const f = k % rules.fineWidth;
  const pair = (k - f) / rules.fineWidth;
  const classId = Math.floor(pair / 2);
  const plural = pair % 2 === 1;
  const words = rules.candidates[classId]?.[plural ? 'plural' : 'singular'];
  if (!words) throw new Error(`token ${token} is past the slot tokens of ${rules.candidates.length} classes`);
  return { classId, plural, word: words[f] ?? -1 };
}

/** The id a slot token is read back as: the word it wrote, or the slot token when that word is not in the vocabulary. */
export const readBackId = (slot: SlotToken): number => (slot.word >= 0 ? slot.word : slot.plural ? SLOTS_ID : SLOT_ID);

/** The text a slot token writes. */
export function slotText(vocab: Vocab, table: WordTable, slot: SlotToken): string {
  return slot.word >= 0 ? vocab.word(slot.word) : wordFor(table, COCO_LABELS[slot.classId]!, slot.plural);
}

/**
 * One row's flat log-probabilities from its vocabulary log-probabilities `lp` [V] and the step's
 * attention `alpha` over its regions (`classes`: each detected region's class; the whole image and
 * padding after them): log p(slot token) + log p(class | pointer) for each class with a region that
 * the caption has not named, the pointer being the attention's share on that class's regions among
 * the open ones (the loss's pointer term, data.ts). Only each (class, number)'s best word by `lp`
 * gets a token: the word a slot writes is the output layer's choice. The slot tokens of the
 * vocabulary themselves are never written. Written into `out` (slotVocabSize long) when given: the
 * step model's row of its output, so a step allocates and copies nothing more per row.
 */
export function slotTokens(
  lp: Float32Array,
  alpha: Float32Array,
  classes: readonly number[],
  named: readonly number[],
  rules: SlotRules,
  out: Float32Array = new Float32Array(slotVocabSize(lp.length, rules)),
): Float32Array {
  const V = lp.length;
  out.fill(-Infinity);
  out.set(lp);
  const shares = new Map<number, number>();
  classes.forEach((c, j) => {
    if (!named.includes(c)) shares.set(c, (shares.get(c) ?? 0) + alpha[j]!);
  });
  const total = [...shares.values()].reduce((a, b) => a + b, 0);
  for (const [c, share] of shares) {
    if (!(share > 0)) continue;
    const pointer = Math.log(share / total);
    for (const plural of [false, true]) {
      const words = rules.candidates[c]![plural ? 'plural' : 'singular'];
      let best = 0;
      words.forEach((w, f) => lp[w]! > lp[words[best]!]! && (best = f));
      out[slotTokenId(V, rules, c, plural, best)] = lp[plural ? SLOTS_ID : SLOT_ID]! + pointer;
    }
  }
  out[SLOT_ID] = -Infinity;
  out[SLOTS_ID] = -Infinity;
  return out;
}

/** The region of a slot's class that the attention `alpha` weighs most (ties: the first, best-scoring). */
export function slotRegion(alpha: Float32Array, classes: readonly number[], classId: number): number | undefined {
  let best: number | undefined;
  classes.forEach((c, j) => {
    if (c === classId && (best === undefined || alpha[j]! > alpha[best]!)) best = j;
  });
  return best;
}
