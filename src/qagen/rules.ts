import type { CocoQaType } from '../data/qa.js';
import { nounPhrases, parseClause, type Clause, type NounPhrase, type PrepPhrase } from './parse.js';
import { aloneIsVerb, tagCaption, type Token } from './tag.js';
import {
  COLLECTIVES,
  COLOR_COLLOCATIONS,
  ING_NOUNS,
  LIGHT_VERBS,
  LOCATION_PREPOSITIONS,
  NON_ANSWERS,
  NON_LOCATION_VERBS,
  NUMBER_WORDS,
  PLACES,
  STATIVE_VERBS,
  STRANDED_PREPOSITIONS,
} from './words.js';

/** One question made from one caption; the answer is a word of the caption. */
export interface GeneratedQa {
  question: string;
  answer: string;
  type: CocoQaType;
  /** Number questions: the counted phrase as the question writes it, without the number ("dogs", "black dogs", "hot dogs"). */
  counted?: string;
}

/** Longer questions (quoting long complements) are mostly mis-parses; COCO-QA's average is about 10 words. */
export const MAX_QUESTION_WORDS = 15;

const render = (t: Token): string => (t.possessive ? `${t.word}'s` : t.word);

/** Words of tokens [from, to) as written, without commas. */
function text(tokens: readonly Token[], from: number, to: number): string {
  return tokens
    .slice(from, to)
    .filter((t) => t.pos !== 'PUNCT')
    .map(render)
    .join(' ');
}

/** Adjectives and nouns of a phrase, without determiner or number: "black and white dog". */
function nominal(np: NounPhrase, withNumber = false): string {
  const num = withNumber && np.num && !['one', '1'].includes(np.num.word) ? [np.num] : [];
  return [...num, ...np.mods, ...np.nouns]
    .filter((t) => t.pos !== 'PUNCT')
    .map(render)
    .join(' ');
}

const isPlural = (np: NounPhrase): boolean => np.plural || (np.num !== undefined && np.num.word !== 'one');

/** The subject as a question refers to it: "the black dog", "the two dogs", "the group of people". */
function describeSubject(tokens: readonly Token[], clause: Clause): string {
  const head = `the ${nominal(clause.subject, true)}`;
  return clause.subjectOf ? `${head} of ${text(tokens, clause.subjectOf.start, clause.subjectOf.end)}` : head;
}

/** The phrase ends at `i` (not "a snow covered trail", not "a dirt and grass hill"). */
function endsCleanly(tokens: readonly Token[], i: number): boolean {
  const next = tokens[i];
  return next === undefined || ['PUNCT', 'PREP', 'VBG', 'ADV', 'TO'].includes(next.pos) || (next.pos === 'CONJ' && !joinsNouns(tokens, i));
}

/** "a green jersey playing soccer" read as one compound: an -ing word inside it is a verb. */
function hasVerbInside(np: NounPhrase): boolean {
  return np.nouns.slice(1).some((n) => /ing$/.test(n.word) && !ING_NOUNS.has(n.word));
}

/**
 * A noun phrase whose head can be a one-word answer. A subject is followed by
 * its verb, so only objects are checked to end cleanly.
 */
function answerable(tokens: readonly Token[], np: NounPhrase, isSubject = false): boolean {
  return (
    !np.ofFollows &&
    !hasVerbInside(np) &&
    (isSubject || endsCleanly(tokens, np.end)) &&
    np.head.pos === 'NOUN' &&
    !np.head.possessive &&
    /^[a-z]{2,}$/.test(np.head.word) &&
    !NON_ANSWERS.has(np.head.word)
  );
}

/**
 * A one-word place right after a location preposition, ending its phrase:
 * not "through snow covered mountains" nor "down a dirt and grass hill".
 */
function isPlace(tokens: readonly Token[], pp: PrepPhrase): boolean {
  return LOCATION_PREPOSITIONS.has(pp.prep) && pp.np.nouns.length === 1 && PLACES.has(pp.np.head.word) && answerable(tokens, pp.np);
}

/**
 * The complement is quoted as written only when it ends the clause; "jumps
 * from the top of a blue plastic slide" mis-tagged as "… plastic" + verb
 * "slide" must not become "who is jumping from the top of a blue plastic ?".
 */
function restEndsClause(tokens: readonly Token[], c: Clause): boolean {
  const next = tokens[c.rest[1]];
  return next === undefined || next.pos === 'PUNCT' || (next.pos === 'CONJ' && !joinsNouns(tokens, c.rest[1]));
}

/** "a dirt and grass hill": an "and"/"or" at `i` that joins nouns inside one phrase. */
function joinsNouns(tokens: readonly Token[], i: number): boolean {
  const after = tokens[i + 1];
  return ['and', 'or'].includes(tokens[i]?.word ?? '') && after !== undefined && ['ADJ', 'NOUN'].includes(after.pos);
}

const question = (...parts: string[]): string => `${parts.filter((p) => p.length > 0).join(' ')} ?`;

function objectQuestions(tokens: readonly Token[], c: Clause): GeneratedQa[] {
  const out: GeneratedQa[] = [];
  const be = isPlural(c.subject) && !c.subjectOf ? 'are' : 'is';
  const subject = describeSubject(tokens, c);
  const light = LIGHT_VERBS.has(c.verb.infinitive) && c.verb.kind !== 'copula';

  // "a man is riding a horse" → what is the man riding ? horse
  if (c.object && !light && answerable(tokens, c.object) && !COLLECTIVES.has(c.object.head.word)) {
    out.push({ question: question('what', be, subject, c.verb.gerund), answer: c.object.head.word, type: 'object' });
  }
  // "a dog plays with a ball" → what is the dog playing with ? ball (places are left to "where")
  const first = c.pps[0];
  if (
    !c.object &&
    first &&
    !light &&
    tokens[c.rest[0]]?.pos === 'PREP' &&
    STRANDED_PREPOSITIONS.has(first.prep) &&
    answerable(tokens, first.np) &&
    !PLACES.has(first.np.head.word) &&
    !COLLECTIVES.has(first.np.head.word)
  ) {
    const verb = c.verb.kind === 'copula' ? '' : c.verb.gerund;
    out.push({ question: question('what', be, subject, verb, first.prep), answer: first.np.head.word, type: 'object' });
  }
  // "a dog runs through the grass" → what is running through the grass ? dog
  const s = c.subject;
  if (
    !c.subjectOf &&
    !isPlural(s) &&
    answerable(tokens, s, true) &&
    !COLLECTIVES.has(s.head.word) &&
    (c.object !== undefined || c.pps.length > 0) &&
    restEndsClause(tokens, c)
  ) {
    const wh = s.head.person ? 'who' : 'what';
    const verb = c.verb.kind === 'copula' ? '' : c.verb.gerund;
    out.push({ question: question(wh, 'is', verb, text(tokens, c.rest[0], c.rest[1])), answer: s.head.word, type: 'object' });
  }
  return out;
}

function numberQuestions(tokens: readonly Token[], c: Clause): GeneratedQa[] {
  const out: GeneratedQa[] = [];
  const rest = text(tokens, c.rest[0], c.rest[1]);
  const s = c.subject;
  const count = s.num && NUMBER_WORDS.get(s.num.word);
  // "two dogs play in the snow" → how many dogs play in the snow ? two
  if (count && s.head.plural && !c.subjectOf && restEndsClause(tokens, c)) {
    const verb = c.verb.kind === 'present' ? c.verb.word : c.verb.kind === 'copula' ? 'are' : `are ${c.verb.gerund}`;
    out.push({ question: question('how many', nominal(s), verb, rest), answer: count, type: 'number', counted: nominal(s) });
  }
  // "a man walks two dogs" → how many dogs is the man walking ? two
  const o = c.object;
  const objectCount = o?.num && NUMBER_WORDS.get(o.num.word);
  if (o && objectCount && o.head.plural && !o.ofFollows && !LIGHT_VERBS.has(c.verb.infinitive)) {
    const be = isPlural(s) && !c.subjectOf ? 'are' : 'is';
    out.push({
      question: question('how many', nominal(o), be, describeSubject(tokens, c), c.verb.gerund),
      answer: objectCount,
      type: 'number',
      counted: nominal(o),
    });
  }
  return out;
}

function locationQuestions(tokens: readonly Token[], c: Clause): GeneratedQa[] {
  if (NON_LOCATION_VERBS.has(c.verb.infinitive)) return [];
  // Only the phrase right after the verb (or its object) says where the action is:
  // in "runs through a grassy area near tall trees" the trees are near the area.
  const candidates = [...c.subjectPps, ...c.pps.slice(0, 1)].filter((pp) => isPlace(tokens, pp));
  const places = new Set(candidates.map((pp) => pp.np.head.word));
  if (places.size !== 1) return [];
  const answer = [...places][0]!;
  const be = isPlural(c.subject) && !c.subjectOf ? 'are' : 'is';
  const subject = describeSubject(tokens, c);
  if (c.verb.kind === 'copula') return [{ question: question('where', be, subject), answer, type: 'location' }];
  let object = '';
  if (c.object) {
    const end = c.pps[0] ? c.pps[0].np.start - 1 : c.rest[1];
    object = text(tokens, c.object.start, end);
  }
  return [{ question: question('where', be, subject, c.verb.gerund, object), answer, type: 'location' }];
}

/**
 * "what is the color of the dog ?" when the caption names the dog with one
 * colour. "a black dog chases a white dog" or "a dog looks at the brown dog"
 * names two dogs: ask about neither.
 */
function colorQuestions(tokens: readonly Token[]): GeneratedQa[] {
  // Every mention of a head noun, with its colour or '' when it has none we can use.
  const byHead = new Map<string, { things: Set<string>; colors: Set<string> }>();
  for (const np of nounPhrases(tokens)) {
    const entry = byHead.get(np.head.word) ?? { things: new Set<string>(), colors: new Set<string>() };
    byHead.set(np.head.word, entry);
    const thing = np.nouns.map(render).join(' ');
    entry.things.add(thing);
    entry.colors.add(colorOf(tokens, np));
    // "a brown dog play": the compound may hide another mention of "dog".
    for (const noun of np.nouns.slice(0, -1)) {
      const other = byHead.get(noun.word) ?? { things: new Set<string>(), colors: new Set<string>() };
      byHead.set(noun.word, other);
      other.colors.add('');
    }
  }
  const out: GeneratedQa[] = [];
  for (const { things, colors } of byHead.values()) {
    if (colors.size !== 1 || colors.has('') || things.size !== 1) continue;
    out.push({ question: question('what is the color of the', [...things][0]!), answer: [...colors][0]!, type: 'color' });
  }
  return out;
}

/** The one colour naming a noun phrase's thing, or '' (none, several, or not its colour). */
function colorOf(tokens: readonly Token[], np: NounPhrase): string {
  const colors = np.mods.filter((t) => t.color);
  const color = np.mods[np.mods.length - 1];
  // Several colours ("black and white dog") or one of something else ("black haired man").
  if (colors.length !== 1 || color === undefined || color !== colors[0]) return '';
  if (np.head.person || np.ofFollows || NON_ANSWERS.has(np.head.word) || np.nouns.some((n) => n.possessive)) return '';
  // "red playing cricket", "brown dog wades": an -ing word or a plural head after a singular noun is likely a verb.
  if (np.nouns.some((n) => /ing$/.test(n.word) && !ING_NOUNS.has(n.word))) return '';
  if (np.nouns.length > 1 && np.head.plural) return '';
  // A compound that may have swallowed a mis-tagged verb ("red sweatshirt ice
  // skating", "brown dog play on"): only when it ends cleanly in a plain noun.
  const next = tokens[np.end]?.pos;
  if (
    np.nouns.length > 1 &&
    ((next !== undefined && !['PUNCT', 'PREP', 'CONJ', 'VBP', 'AUX'].includes(next)) || aloneIsVerb(np.head.word))
  ) {
    return '';
  }
  if (COLOR_COLLOCATIONS.has(`${color.word}-${np.nouns[0]!.word}`)) return '';
  return color.word;
}

/**
 * Questions about one caption, COCO-QA style: object ("what is the man
 * riding ?"), number ("how many dogs …"), colour ("what is the color of
 * the dog ?") and location ("where is the dog running ?"). Captions the rules
 * do not fit give none. Questions are lower case, words separated by spaces,
 * ending " ?"; each answer is one word of the caption (numbers as words).
 */
export function questionsFromCaption(caption: string): GeneratedQa[] {
  const tokens = tagCaption(caption);
  const out = colorQuestions(tokens);
  const clause = parseClause(tokens);
  if (clause && (clause.verb.kind === 'copula' || !STATIVE_VERBS.has(clause.verb.infinitive))) {
    out.push(...objectQuestions(tokens, clause), ...numberQuestions(tokens, clause), ...locationQuestions(tokens, clause));
  }
  const seen = new Set<string>();
  return out.filter((qa) => qa.question.split(' ').length <= MAX_QUESTION_WORDS && !seen.has(qa.question) && seen.add(qa.question));
}
