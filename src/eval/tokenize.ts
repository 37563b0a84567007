/**
 * Caption normalisation in the style of coco-caption (pycocoevalcap).
 *
 * pycocoevalcap runs Stanford's PTBTokenizer (`-lowerCase -preserveLines`) over
 * every caption and then drops every token that appears in its PUNCTUATIONS
 * list: '' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ;
 * The scorers then see the remaining tokens joined by single spaces.
 *
 * We do not ship a Java tokenizer, so this is a pragmatic re-implementation of
 * the parts of PTB tokenisation that matter for captions:
 *  - lower-case everything;
 *  - normalise typographic quotes/apostrophes/dashes/ellipsis to ASCII, as PTB does;
 *  - split off punctuation. Because the removal list covers every punctuation
 *    token PTB produces for these characters (quotes become `` / '', brackets
 *    become -LRB- etc.), any token consisting only of . ? ! , : ; ' ` " - ( ) [ ] { }
 *    is dropped;
 *  - keep word-internal hyphens ("t-shirt"), apostrophes ("o'clock"), digit
 *    groupings ("1,000", "3.5", "10:30") and dotted acronyms ("u.s."), as PTB does;
 *  - split clitics like PTB: "man's" -> "man 's", "don't" -> "do n't",
 *    "can't" -> "ca n't", "they're" -> "they 're";
 *  - split "$" and "%" into their own (kept) tokens, as PTB does.
 * Known differences from PTB: abbreviations other than single-letter dotted
 * acronyms lose their final period ("st." -> "st"); PTB's multi-word splits
 * such as "cannot" -> "can not" or "gonna" -> "gon na" are not reproduced; a
 * run like "---" is dropped here although PTB would emit it as a kept token.
 */

/** Typographic characters mapped to the ASCII forms PTB normalises them to. */
const TYPOGRAPHIC: ReadonlyArray<readonly [RegExp, string]> = [
  [/[\u2018\u2019\u201a\u201b\u2032]/g, "'"],
  [/[\u201c\u201d\u201e\u201f\u2033]/g, '"'],
  [/[\u2013\u2014\u2015]/g, ' -- '],
  [/\u2026/g, ' ... '],
];

/**
 * Punctuation that never belongs to a word, so it can be turned into a token
 * boundary directly (every such token would be removed afterwards anyway):
 * ! ? ; " ( ) [ ] { } backtick, runs of 2+ periods or hyphens, and commas or
 * colons unless they sit between two digits ("1,000", "10:30").
 */
const SEPARATORS = /[!?;"()[\]{}`]|\.{2,}|-{2,}|(?<!\d)[,:]|[,:](?!\d)/g;

/** PTB makes currency and percent signs tokens of their own; coco keeps them. */
const SYMBOL_TOKENS = /([$%])/g;

/** A token made only of characters whose PTB tokens are in coco's removal list. */
const PUNCTUATION_ONLY = /^[.?!,:;'`"()[\]{}-]+$/;

/** A clitic that is already its own token, e.g. the "'s" in "the dog 's ball". */
const BARE_CLITIC = /^(?:'(?:s|re|ve|ll|d|m)|n't)$/;

/** Word followed by a PTB clitic; the lazy group makes "don't" split as "do" + "n't". */
const TRAILING_CLITIC = /^(.+?)(n't|'(?:s|re|ve|ll|d|m))$/;

/** Dotted single-letter acronyms ("u.s.") keep their final period in PTB. */
const DOTTED_ACRONYM = /^(?:[a-z]\.){2,}$/;

/** Leading hyphens/apostrophes/periods are punctuation, except a decimal point (".5"). */
const LEADING_PUNCT = /^(?:[-']|\.(?!\d))+/;
const TRAILING_PUNCT = /[-'.]+$/;

/** Split one whitespace-free piece into word tokens (punctuation is stripped, clitics split). */
function splitPiece(piece: string): string[] {
  if (BARE_CLITIC.test(piece)) return [piece];
  let core = piece.replace(LEADING_PUNCT, '');
  if (!DOTTED_ACRONYM.test(core)) core = core.replace(TRAILING_PUNCT, '');
  if (core === '') return [];
  const clitic = TRAILING_CLITIC.exec(core);
  if (clitic && clitic[1] !== undefined && clitic[2] !== undefined) return [clitic[1], clitic[2]];
  return [core];
}

/**
 * Normalise a caption into coco-caption style tokens: lower-cased,
 * PTB-like splitting, punctuation tokens removed. Returns [] for a caption
 * that has no words.
 */
export function normalizeCaption(s: string): string[] {
  let text = s.toLowerCase();
  for (const [pattern, replacement] of TYPOGRAPHIC) text = text.replace(pattern, replacement);
  text = text.replace(SEPARATORS, ' ').replace(SYMBOL_TOKENS, ' $1 ');

  const tokens: string[] = [];
  for (const piece of text.split(/\s+/)) {
    if (piece === '') continue;
    for (const token of splitPiece(piece)) {
      if (!PUNCTUATION_ONLY.test(token)) tokens.push(token);
    }
  }
  return tokens;
}
