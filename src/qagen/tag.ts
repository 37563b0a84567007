import nlp from 'compromise';
import { AUXILIARIES, COLORS, CONJUNCTIONS, DETERMINERS, ING_NOUNS, MULTIWORD_PREPOSITIONS, PEOPLE, PREPOSITIONS } from './words.js';

/**
 * Coarse parts of speech. VBP is a finite present verb ("runs", "play"), VBG a
 * gerund, VBD a past form; AUX is "is"/"are"; TO the infinitive marker; PUNCT
 * a comma or sentence end.
 */
export type Pos =
  'DET' | 'NUM' | 'ADJ' | 'NOUN' | 'PRON' | 'PREP' | 'CONJ' | 'ADV' | 'AUX' | 'VBG' | 'VBP' | 'VBD' | 'TO' | 'PUNCT' | 'OTHER';

export interface Token {
  /** Lower-case word; a possessive noun without its "'s". */
  word: string;
  pos: Pos;
  plural: boolean;
  /** A noun followed by "'s" ("the dog's ball"). */
  possessive: boolean;
  /** A person ("man", "skier"): subject questions ask "who". */
  person: boolean;
  color: boolean;
}

interface Term {
  normal: string;
  post: string;
  tags: string[];
}

/** Lower-case, join "dog 's" and "wet , blond", drop quotes and the final full stop. */
export function normalizeCaption(caption: string): string {
  return caption
    .toLowerCase()
    .replace(/["`]/g, ' ')
    .replace(/\s+'s\b/g, "'s")
    .replace(/\s+([,;:.!?])/g, '$1')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[.!?;:,\s]+$/, '');
}

function basePos(term: Term): Pos {
  const t = new Set(term.tags);
  if (t.has('Value')) return 'NUM';
  if (t.has('Gerund')) return 'VBG';
  if (t.has('Verb')) {
    if (t.has('Copula') || t.has('Auxiliary') || t.has('Modal')) return 'OTHER';
    if (t.has('PastTense') || t.has('Participle')) return 'VBD';
    if (t.has('PresentTense') || t.has('Infinitive')) return 'VBP';
    return 'OTHER';
  }
  if (t.has('Adjective')) return 'ADJ';
  if (t.has('Adverb')) return 'ADV';
  if (t.has('Pronoun')) return 'PRON';
  if (t.has('Noun')) return 'NOUN';
  if (t.has('Preposition')) return 'PREP';
  if (t.has('Conjunction') || t.has('QuestionWord')) return 'CONJ';
  if (t.has('Determiner')) return 'DET';
  return 'OTHER';
}

function isVerbTerm(term: Term | undefined): boolean {
  return term !== undefined && term.tags.includes('Verb') && !term.tags.includes('Copula');
}

/** Tokens of one caption, tagged by compromise and then corrected by the closed word lists. */
export function tagCaption(caption: string): Token[] {
  const text = normalizeCaption(caption);
  if (!text) return [];
  const sentences = nlp(text).json({ offset: false }) as { terms: Term[] }[];
  const terms = sentences.flatMap((s, i) =>
    i < sentences.length - 1 && s.terms.length > 0 ? [...s.terms.slice(0, -1), { ...s.terms[s.terms.length - 1]!, post: '.' }] : s.terms,
  );
  const tokens: Token[] = [];
  for (let i = 0; i < terms.length; i++) {
    // Hyphenated words ("two-year-old", "t-shirt") are one token.
    const group = [terms[i]!];
    while (/-/.test(group[group.length - 1]!.post) && i + 1 < terms.length) group.push(terms[++i]!);
    const last = group[group.length - 1]!;
    let word = group.map((t) => t.normal).join('-');
    let possessive = false;
    if (/'s$/.test(word) || /s'$/.test(word)) {
      possessive = true;
      word = word.replace(/'s?$/, '');
    }
    let pos = basePos(last);
    if (group.length > 1 && group.some((t) => t.tags.includes('Value'))) pos = 'ADJ';
    const next = terms[i + 1];
    if (group.length === 1) {
      if (word === 'to') pos = isVerbTerm(next) && !next!.tags.includes('Gerund') ? 'TO' : 'PREP';
      else if (word === 'that') pos = next && /Noun|Adjective/.test(next.tags.join()) ? 'DET' : 'CONJ';
      else if (PREPOSITIONS.has(word)) pos = 'PREP';
      else if (DETERMINERS.has(word)) pos = 'DET';
      else if (CONJUNCTIONS.has(word)) pos = 'CONJ';
      else if (AUXILIARIES.has(word)) pos = 'AUX';
      else if (COLORS.has(word)) pos = 'ADJ';
      else if (/^(am|was|were|be|been|being)$/.test(word)) pos = 'OTHER';
      else if (/^(some|any|every|no)(thing|one|body)$/.test(word)) pos = 'PRON';
    }
    if (possessive && pos !== 'PRON') pos = 'NOUN';
    tokens.push({
      word,
      pos,
      plural: last.tags.includes('Plural'),
      possessive,
      person: pos === 'NOUN' && (last.tags.includes('Actor') || PEOPLE.has(word)),
      color: group.length === 1 && COLORS.has(word),
    });
    if (/[,;:]/.test(last.post)) tokens.push(punct(','));
    else if (/[.!?]/.test(last.post)) tokens.push(punct('.'));
  }
  fixIngNouns(tokens);
  fixVerbNouns(tokens);
  return joinMultiwordPrepositions(tokens);
}

function punct(word: string): Token {
  return { word, pos: 'PUNCT', plural: false, possessive: false, person: false, color: false };
}

/** "two boys on a beam holding a rope": an -ing "noun" right after a noun is a verb. */
function fixIngNouns(tokens: Token[]): void {
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    const prev = tokens[i - 1]!;
    // "a kid in black going down a slide": after a colour used as a noun.
    const colorNoun = prev.color && ['VBG', 'PREP'].includes(tokens[i - 2]?.pos ?? '');
    if (
      t.pos === 'NOUN' &&
      /ing$/.test(t.word) &&
      !t.possessive &&
      !ING_NOUNS.has(t.word) &&
      ((prev.pos === 'NOUN' && !prev.possessive) || colorNoun) &&
      // "a person holding poles": after a person even before a noun ("rock climbing wall" stays a compound).
      (next?.pos !== 'NOUN' || prev.person || colorNoun)
    ) {
      t.pos = 'VBG';
      t.plural = false;
      t.person = false;
    }
  }
}

const verbLike = new Map<string, boolean>();

/** Whether compromise, seeing the word alone, takes it for a verb ("runs" yes, "players" no). */
export function aloneIsVerb(word: string): boolean {
  let hit = verbLike.get(word);
  if (hit === undefined) {
    const tags = (nlp(word).json({ offset: false }) as { terms: Term[] }[])[0]?.terms[0]?.tags ?? [];
    hit = tags.includes('Verb') && !tags.includes('Gerund');
    verbLike.set(word, hit);
  }
  return hit;
}

/**
 * Noun/verb confusions of the tagger on -s words and bare forms:
 * - "a black dog runs", "a man wearing a hat waves", "a boy in red plays":
 *   before the first finite verb, a plural "noun" right after a singular noun
 *   (or a colour used as a noun), not followed by another noun, is the verb
 *   when the word alone reads as one or a determiner follows ("bares its fangs");
 * - "a blue plastic slide", "side by side": a bare-form "verb" after a
 *   determiner, adjective, number, preposition or singular noun is a noun.
 */
function fixVerbNouns(tokens: Token[]): void {
  let finiteSeen = false;
  // "kid in red …": a caption does not start with a verb.
  const first = tokens[0];
  if (first?.pos === 'VBP' && ['PREP', 'AUX', 'VBP', 'VBG'].includes(tokens[1]?.pos ?? '')) first.pos = 'NOUN';
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    const prev = tokens[i - 1]!;
    const next = tokens[i + 1];
    // "a boy wearing red plays", "a man in black walks": a colour used as a noun.
    const colorNoun = prev.color && ['VBG', 'PREP'].includes(tokens[i - 2]?.pos ?? '');
    const pluralAfterNoun = t.plural && /s$/.test(t.word) && prev.pos === 'NOUN' && !prev.plural && !prev.possessive;
    if (
      !finiteSeen &&
      t.pos === 'NOUN' &&
      !t.possessive &&
      (pluralAfterNoun || colorNoun) &&
      next?.pos !== 'NOUN' &&
      (next?.pos === 'DET' || aloneIsVerb(t.word))
    ) {
      t.pos = 'VBP';
      t.plural = false;
      t.person = false;
    } else if (t.pos === 'VBP' && conjugate(t.word)?.infinitive === t.word) {
      // After a finite verb, "a blue plastic slide"; before one, "a dog and cat play" keeps its verb.
      const afterNoun = finiteSeen && prev.pos === 'NOUN' && !prev.plural && !prev.person;
      const afterWord = ['DET', 'NUM'].includes(prev.pos) || (prev.pos === 'ADJ' && !colorNoun);
      if (afterNoun || afterWord || (prev.pos === 'PREP' && prev.word !== 'to')) {
        t.pos = 'NOUN';
      }
    }
    if (t.pos === 'VBP' || t.pos === 'AUX') finiteSeen = true;
  }
}

function joinMultiwordPrepositions(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const match = MULTIWORD_PREPOSITIONS.find((words) => words.every((w, k) => tokens[i + k]?.word === w));
    if (match) {
      out.push({ ...punct(match.join(' ')), pos: 'PREP' });
      i += match.length - 1;
    } else out.push(tokens[i]!);
  }
  return out;
}

const conjugations = new Map<string, { infinitive: string; gerund: string } | null>();

/** Infinitive and gerund of a verb ("runs" → run, running); null when compromise cannot conjugate it. */
export function conjugate(word: string): { infinitive: string; gerund: string } | null {
  let hit = conjugations.get(word);
  if (hit === undefined) {
    const doc = nlp(word);
    doc.tag('Verb');
    const forms = (doc.verbs().conjugate() as { Infinitive?: string; Gerund?: string }[])[0];
    hit =
      forms?.Infinitive && forms.Gerund && /^[a-z]+ing$/.test(forms.Gerund) && /^[a-z]+$/.test(forms.Infinitive)
        ? { infinitive: forms.Infinitive, gerund: forms.Gerund }
        : null;
    conjugations.set(word, hit);
  }
  return hit;
}
