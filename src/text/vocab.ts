import { z } from 'zod';

export const PAD = '<pad>';
export const START = '<start>';
export const END = '<end>';
export const UNK = '<unk>';
/** Special tokens take the first ids, in this order. */
export const SPECIALS = [PAD, START, END, UNK] as const;
export const PAD_ID = 0;
export const START_ID = 1;
export const END_ID = 2;
export const UNK_ID = 3;

export const vocabSchema = z
  .array(z.string().min(1))
  .min(SPECIALS.length)
  .refine((words) => SPECIALS.every((s, i) => words[i] === s), { message: `a vocabulary must start with ${SPECIALS.join(', ')}` });

/** Word ↔ id mapping; ids are positions in `words`. */
export class Vocab {
  private readonly ids: Map<string, number>;

  constructor(readonly words: readonly string[]) {
    vocabSchema.parse(words);
    this.ids = new Map(words.map((w, i) => [w, i]));
  }

  get size(): number {
    return this.words.length;
  }

  id(word: string): number {
    return this.ids.get(word) ?? UNK_ID;
  }

  has(word: string): boolean {
    return this.ids.has(word);
  }

  word(id: number): string {
    return this.words[id] ?? UNK;
  }

  /** <start> w1 … wn <end>, truncated to at most `maxWords` words. */
  encode(tokens: readonly string[], maxWords = Infinity): number[] {
    return [START_ID, ...tokens.slice(0, maxWords).map((t) => this.id(t)), END_ID];
  }

  /** Words up to the first <end>, without specials. */
  decode(ids: readonly number[]): string[] {
    const out: string[] = [];
    for (const id of ids) {
      if (id === END_ID) break;
      if (id === START_ID || id === PAD_ID) continue;
      out.push(this.word(id));
    }
    return out;
  }

  /**
   * Words seen at least `minCount` times, most frequent first (ties
   * alphabetical, so the vocabulary is deterministic); rarer ones become <unk>.
   */
  static build(sentences: Iterable<readonly string[]>, minCount: number): Vocab {
    const counts = new Map<string, number>();
    for (const s of sentences) for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
    const kept = [...counts.entries()]
      .filter(([w, n]) => n >= minCount && !(SPECIALS as readonly string[]).includes(w))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([w]) => w);
    return new Vocab([...SPECIALS, ...kept]);
  }
}
