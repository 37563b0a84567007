import { z } from 'zod';

/** A character vocabulary: distinct characters (Unicode code points), each one once. */
export const charVocabSchema = z
  .array(z.string().refine((c) => [...c].length === 1, { message: 'each vocabulary entry must be one character' }))
  .min(1)
  .refine((chars) => new Set(chars).size === chars.length, { message: 'vocabulary characters must be distinct' });

/** Printable form of a character for messages: JSON escapes for control characters. */
export function showChar(c: string): string {
  return JSON.stringify(c);
}

/** Character ↔ id mapping; ids are positions in `chars` (sorted by code point when built). */
export class CharVocab {
  private readonly ids: Map<string, number>;

  constructor(readonly chars: readonly string[]) {
    charVocabSchema.parse(chars);
    this.ids = new Map(chars.map((c, i) => [c, i]));
  }

  /** Every distinct character of `text`, sorted by code point (as char-rnn does). */
  static build(text: string): CharVocab {
    const set = new Set<string>();
    for (const c of text) set.add(c);
    return new CharVocab([...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }

  get size(): number {
    return this.chars.length;
  }

  has(c: string): boolean {
    return this.ids.has(c);
  }

  id(c: string): number {
    const id = this.ids.get(c);
    if (id === undefined) throw new UnknownCharsError([c]);
    return id;
  }

  char(id: number): string {
    const c = this.chars[id];
    if (c === undefined) throw new RangeError(`character id ${id} is outside the vocabulary (size ${this.size})`);
    return c;
  }

  /** Distinct characters of `text` that are not in the vocabulary, in order of first appearance. */
  unknown(text: string): string[] {
    const out = new Set<string>();
    for (const c of text) if (!this.ids.has(c)) out.add(c);
    return [...out];
  }

  /** Ids of every character; throws UnknownCharsError naming the characters it lacks. */
  encode(text: string): Int32Array {
    const missing = this.unknown(text);
    if (missing.length > 0) throw new UnknownCharsError(missing);
    const out: number[] = [];
    for (const c of text) out.push(this.ids.get(c)!);
    return Int32Array.from(out);
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) s += this.char(ids[i]!);
    return s;
  }
}

export class UnknownCharsError extends Error {
  constructor(readonly chars: string[]) {
    super(`characters not in the model's vocabulary: ${chars.map(showChar).join(', ')}`);
    this.name = 'UnknownCharsError';
  }
}
