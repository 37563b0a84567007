import { describe, expect, it } from 'vitest';
import { formatZodError } from '../../src/util/zod-error.js';
import { MAX_QUESTION_CHARS, modelField, questionField, toAnswerOptions, vqaOptionsSchema } from '../../src/vqa/question.js';

/** The one-line message a refused value gets, as the route would answer it. */
function refusal(result: { success: true } | { success: false; error: Parameters<typeof formatZodError>[0] }): string {
  if (result.success) throw new Error('accepted; expected a refusal');
  return formatZodError(result.error);
}

describe('questionField', () => {
  it('trims, and takes letters of any script and ordinary punctuation', () => {
    expect(questionField.parse('  What is the man riding?  ')).toBe('What is the man riding?');
    expect(questionField.parse("what's on the café's table (left/right)?")).toBe("what's on the café's table (left/right)?");
  });

  it('counts characters as code points: astral letters up to the limit pass', () => {
    const q = `what ${'𝐀'.repeat(MAX_QUESTION_CHARS - 5)}`;
    expect(q.length).toBeGreaterThan(MAX_QUESTION_CHARS); // UTF-16 units
    expect(questionField.parse(q)).toBe(q);
    const tooLong = `must be at most ${MAX_QUESTION_CHARS} characters; got ${MAX_QUESTION_CHARS + 1}`;
    expect(refusal(questionField.safeParse(`${q}x`))).toBe(tooLong);
  });

  it('refuses other characters, naming them, and questions without a word', () => {
    expect(refusal(questionField.safeParse('what is <b>?'))).toMatch(/only; got "<" ">"$/);
    expect(refusal(questionField.safeParse(' ?! '))).toBe('must contain at least one word');
    expect(refusal(questionField.safeParse(42))).toBe('must be a string');
  });
});

describe('vqaOptionsSchema', () => {
  const schema = vqaOptionsSchema(['bow', 'lstm'], 'lstm');

  it('fills defaults: top_k 3, the default model', () => {
    expect(schema.parse({ question: 'what?' })).toEqual({ question: 'what?', top_k: 3, model: 'lstm' });
    expect(schema.parse({ question: 'what?', top_k: '5', model: 'bow' })).toEqual({ question: 'what?', top_k: 5, model: 'bow' });
  });

  it('refuses with one line per field saying what to fix', () => {
    expect(refusal(schema.safeParse({}))).toBe('question: is required');
    expect(refusal(schema.safeParse({ question: 'what?', top_k: 21 }))).toBe('top_k: must be an integer from 1 to 20; got 21');
    expect(refusal(schema.safeParse({ question: 'what?', model: 'gpt' }))).toBe('model: must be one of bow, lstm');
    expect(refusal(schema.safeParse({ question: 'what?', model: 7 }))).toBe('model: must be a string');
    expect(refusal(schema.safeParse({ question: 'what?', topk: 2 }))).toBe('unknown field(s): topk');
  });

  it('needs a default model among the models', () => {
    expect(() => modelField([], 'lstm')).toThrow(/no VQA model lstm/);
    expect(() => modelField(['bow'], 'lstm')).toThrow(/no VQA model lstm among \[bow\]/);
  });

  it('maps wire options to answer options', () => {
    expect(toAnswerOptions(schema.parse({ question: 'what?', top_k: 2, model: 'bow' }))).toEqual({ topK: 2, model: 'bow' });
  });
});
