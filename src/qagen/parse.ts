import { conjugate, type Token } from './tag.js';

/**
 * A noun phrase: `DET? NUM? (ADJ | "and" | ",")* NOUN+`, where a possessive
 * noun ("the dog's") counts as a determiner. Indices are into the token list;
 * `end` is exclusive.
 */
export interface NounPhrase {
  start: number;
  end: number;
  num?: Token;
  /** Adjectives (and their "and" / commas) between the determiner and the nouns. */
  mods: Token[];
  /** The noun compound; its last word is the head. */
  nouns: Token[];
  head: Token;
  plural: boolean;
  /** Followed by "of" ("a cup of coffee", "the top of a hill"): the head is not what the phrase is about. */
  ofFollows: boolean;
}

export interface PrepPhrase {
  prep: string;
  np: NounPhrase;
}

export type VerbKind =
  /** "is running" */
  | 'progressive'
  /** "runs", "play" */
  | 'present'
  /** "a dog running through the grass" (no finite verb) */
  | 'fragment'
  /** "is in the water" */
  | 'copula';

export interface Clause {
  subject: NounPhrase;
  /** "a group of people": the phrase after "of", part of the subject. */
  subjectOf?: NounPhrase;
  /** Prepositional phrases between the subject and the verb ("a man in red trunks"). */
  subjectPps: PrepPhrase[];
  verb: { kind: VerbKind; word: string; infinitive: string; gerund: string; index: number };
  /** Direct object, right after the verb (or its adverb). */
  object?: NounPhrase;
  /** Prepositional phrases after the verb and object, in order. */
  pps: PrepPhrase[];
  /** Token range of the verb's complement (object and prepositional phrases), as written. */
  rest: [number, number];
}

const NP_START = new Set(['DET', 'NUM', 'ADJ', 'NOUN']);

export function parseNounPhrase(tokens: readonly Token[], start: number): NounPhrase | null {
  let i = start;
  let num: Token | undefined;
  const at = (k: number): Token | undefined => tokens[k];
  while (at(i)?.pos === 'DET' || (at(i)?.pos === 'NOUN' && at(i)!.possessive && at(i + 1) && NP_START.has(at(i + 1)!.pos))) i++;
  if (at(i)?.pos === 'NUM') num = tokens[i++];
  const mods: Token[] = [];
  for (;;) {
    const t = at(i);
    if (!t) break;
    if (t.pos === 'ADJ' || (t.pos === 'ADV' && at(i + 1)?.pos === 'ADJ')) {
      mods.push(t);
      i++;
    } else if ((t.word === 'and' || t.word === ',') && mods.length > 0 && at(i + 1)?.pos === 'ADJ') {
      mods.push(t);
      i++;
    } else if (
      (t.pos === 'VBD' || t.pos === 'VBG') &&
      i > start &&
      at(i + 1) &&
      ['ADJ', 'NOUN'].includes(at(i + 1)!.pos) &&
      at(i - 1)!.pos !== 'NOUN'
    ) {
      // "a muzzled dog", "a running dog": a participle between determiner/adjective and noun.
      mods.push(t);
      i++;
    } else break;
  }
  const nouns: Token[] = [];
  while (at(i)?.pos === 'NOUN') {
    nouns.push(tokens[i]!);
    if (tokens[i]!.possessive) {
      i++;
      // "the dog's red ball": start again after the possessive.
      const rest = parseNounPhrase(tokens, i);
      if (!rest) return null;
      return { ...rest, start };
    }
    i++;
  }
  const head = nouns[nouns.length - 1];
  if (!head) return null;
  return {
    start,
    end: i,
    num,
    mods,
    nouns,
    head,
    plural: head.plural,
    ofFollows: at(i)?.word === 'of',
  };
}

function parsePrepPhrase(tokens: readonly Token[], i: number): PrepPhrase | null {
  const t = tokens[i];
  if (t?.pos !== 'PREP' || t.word === 'of') return null;
  const np = parseNounPhrase(tokens, i + 1);
  return np ? { prep: t.word, np } : null;
}

/** End of an "of NP" tail ("a cup of coffee"), or `i` when there is none. */
function skipOf(tokens: readonly Token[], np: NounPhrase): number {
  if (!np.ofFollows) return np.end;
  const tail = parseNounPhrase(tokens, np.end + 1);
  return tail ? tail.end : np.end;
}

function verbAt(word: string, kind: VerbKind, index: number): Clause['verb'] | null {
  const forms = conjugate(word);
  if (!forms) return null;
  // An -ing word is its own gerund ("staring", "traveling"); re-conjugating it can go wrong.
  const gerund = kind === 'present' ? forms.gerund : word;
  return { kind, word, index, infinitive: forms.infinitive, gerund };
}

/**
 * The first clause of a caption: `subject (PP | participle phrase)* verb
 * object? PP*`. Null when the caption does not start with a plain noun-phrase
 * subject (pronouns, "there is", coordinated subjects) or has no verb we read.
 */
export function parseClause(tokens: readonly Token[]): Clause | null {
  const subject = parseNounPhrase(tokens, 0);
  if (!subject || subject.nouns.some((n) => n.possessive)) return null;
  let i = subject.end;
  let subjectOf: NounPhrase | undefined;
  if (subject.ofFollows) {
    subjectOf = parseNounPhrase(tokens, i + 1) ?? undefined;
    if (!subjectOf) return null;
    i = subjectOf.end;
  }
  if (tokens[i]?.word === 'and' || tokens[i]?.word === ',') return null;

  const finiteAhead = (from: number): boolean => {
    for (let k = from; k < tokens.length; k++) {
      const t = tokens[k]!;
      if (t.pos === 'CONJ' || t.pos === 'PUNCT') return false;
      if (t.pos === 'VBP' || (t.pos === 'AUX' && tokens[k + 1]?.pos === 'VBG')) return true;
    }
    return false;
  };

  // Modifiers of the subject before the verb.
  const subjectPps: PrepPhrase[] = [];
  let verb: Clause['verb'] | null = null;
  while (i < tokens.length && !verb) {
    const t = tokens[i]!;
    if ((t.pos === 'PREP' || t.pos === 'VBG') && tokens[i + 1]?.color && !['ADJ', 'NOUN'].includes(tokens[i + 2]?.pos ?? '')) {
      // "a man in black", "a girl wearing white": a colour for clothes.
      i += 2;
    } else if (t.pos === 'PREP') {
      const pp = parsePrepPhrase(tokens, i);
      if (!pp) return null;
      subjectPps.push(pp);
      i = skipOf(tokens, pp.np);
    } else if (t.pos === 'AUX') {
      const next = tokens[i + 1];
      if (next?.pos === 'VBG') {
        verb = verbAt(next.word, 'progressive', i + 1);
        i += 2;
      } else if (next?.pos === 'PREP' && parsePrepPhrase(tokens, i + 1)) {
        verb = { kind: 'copula', word: t.word, infinitive: 'be', gerund: 'being', index: i };
        i += 1;
      } else return null;
      if (!verb) return null;
    } else if (t.pos === 'VBP') {
      // A plural present needs a plural subject, a singular one an -s verb: "a couple paddle" is a mistagging.
      verb = verbAt(t.word, 'present', i);
      if (!verb) return null;
      const thirdPerson = t.word !== verb.infinitive;
      const pluralSubject = subject.plural || (subject.num !== undefined && !['one', '1'].includes(subject.num.word));
      if (thirdPerson === pluralSubject && !subjectOf) return null;
      i += 1;
    } else if (t.pos === 'VBG') {
      const np = parseNounPhrase(tokens, i + 1);
      if (finiteAhead(i + 1)) {
        // "a man wearing a hat sits …": a participle phrase on the subject.
        if (!np) return null;
        i = skipOf(tokens, np);
      } else {
        // "two men with their heads touching": the -ing verb belongs to the "with" phrase.
        const lastPp = subjectPps[subjectPps.length - 1];
        const owner = lastPp && tokens[lastPp.np.start];
        if (lastPp?.prep === 'with' && lastPp.np.end === i && owner && /^(his|her|its|their)$/.test(owner.word)) return null;
        verb = verbAt(t.word, 'fragment', i);
        if (!verb) return null;
        i += 1;
      }
    } else return null;
  }
  if (!verb) return null;

  const restStart = i;
  while (tokens[i]?.pos === 'ADV') i++;
  let object: NounPhrase | undefined;
  if (verb.kind !== 'copula' && tokens[i] && NP_START.has(tokens[i]!.pos)) {
    const np = parseNounPhrase(tokens, i);
    if (!np) return null;
    object = np;
    i = skipOf(tokens, np);
  }
  const pps: PrepPhrase[] = [];
  for (;;) {
    const pp = parsePrepPhrase(tokens, i);
    if (!pp) break;
    pps.push(pp);
    i = skipOf(tokens, pp.np);
  }
  return { subject, subjectOf, subjectPps, verb, object, pps, rest: [restStart, i] };
}

/** All noun phrases of a caption, left to right, not overlapping. */
export function nounPhrases(tokens: readonly Token[]): NounPhrase[] {
  const out: NounPhrase[] = [];
  for (let i = 0; i < tokens.length;) {
    const np = NP_START.has(tokens[i]!.pos) ? parseNounPhrase(tokens, i) : null;
    if (np) {
      out.push(np);
      i = np.end;
    } else i++;
  }
  return out;
}
