/**
 * Word tokenizer for captions and questions: lower-case, words of letters,
 * digits and inner apostrophes; everything else separates words.
 */
export function tokenizeWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+(?:'[a-z]+)?/g) ?? [];
}
