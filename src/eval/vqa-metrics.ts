/**
 * Visual question answering metrics: the official VQA v2 answer normalisation
 * and accuracy (GT-Vision-Lab/VQA, PythonEvaluationTools/vqaEvaluation/vqaEval.py
 * at its current head, a013f00 "Fixed processing answers bug", 2021), plain
 * exact-match accuracy, and optional WUPS (see wups.ts). Pure: no I/O.
 *
 * Differences from vqaEval.py, all deliberate:
 *  - vqaEval.py normalises the answers of a question only when its annotators
 *    disagree (`len(set(gtAnswers)) > 1`); when all of them gave the same string
 *    the raw prediction is compared verbatim (it relies on the VQA v2
 *    annotations being pre-normalised). Our data (COCO-QA, easy-VQA,
 *    caption-derived QA) is not, so vqaAccuracy always normalises both the
 *    prediction and every annotator answer with normalizeAnswer.
 *  - Fewer than 10 answers (easy-VQA has 3, COCO-QA 1): the leave-one-out
 *    average would cap a unanimous 3-answer question at 2/3 and score every
 *    COCO-QA answer 0, so there the plain formula min(#matching / 3, 1) is
 *    used: 1 for a unanimous 3-answer question, 1/3 for a right COCO-QA answer
 *    (use exact-match accuracy there).
 *  - Scores are fractions in [0, 1], not percentages rounded to 2 decimals
 *    (formatVqaTable prints percentages).
 */
import type { Wups } from './wups.js';

/**
 * What scoreVqa reads of a question: the fields it shares with data/qa.ts's
 * QaExample, which passes as it is (metrics know no file format).
 */
export interface VqaReference {
  question: string;
  /** The single answer: exact match and WUPS compare against it. */
  answer: string;
  /** Every annotator's answer, for VQA accuracy. */
  answers: readonly string[];
  /** Question type: scores are also given per type. */
  type: string;
}

/** vqaEval.py `contractions` (keys are looked up after lower-casing, so the
 * capitalised ones, e.g. "Im", never match: kept as in the original). */
const CONTRACTIONS: Readonly<Record<string, string>> = {
  aint: "ain't",
  arent: "aren't",
  cant: "can't",
  couldve: "could've",
  couldnt: "couldn't",
  "couldn'tve": "couldn't've",
  "couldnt've": "couldn't've",
  didnt: "didn't",
  doesnt: "doesn't",
  dont: "don't",
  hadnt: "hadn't",
  "hadnt've": "hadn't've",
  "hadn'tve": "hadn't've",
  hasnt: "hasn't",
  havent: "haven't",
  hed: "he'd",
  "hed've": "he'd've",
  "he'dve": "he'd've",
  hes: "he's",
  howd: "how'd",
  howll: "how'll",
  hows: "how's",
  "Id've": "I'd've",
  "I'dve": "I'd've",
  Im: "I'm",
  Ive: "I've",
  isnt: "isn't",
  itd: "it'd",
  "itd've": "it'd've",
  "it'dve": "it'd've",
  itll: "it'll",
  "let's": "let's",
  maam: "ma'am",
  mightnt: "mightn't",
  "mightnt've": "mightn't've",
  "mightn'tve": "mightn't've",
  mightve: "might've",
  mustnt: "mustn't",
  mustve: "must've",
  neednt: "needn't",
  notve: "not've",
  oclock: "o'clock",
  oughtnt: "oughtn't",
  "ow's'at": "'ow's'at",
  "'ows'at": "'ow's'at",
  "'ow'sat": "'ow's'at",
  shant: "shan't",
  "shed've": "she'd've",
  "she'dve": "she'd've",
  "she's": "she's",
  shouldve: "should've",
  shouldnt: "shouldn't",
  "shouldnt've": "shouldn't've",
  "shouldn'tve": "shouldn't've",
  "somebody'd": 'somebodyd',
  "somebodyd've": "somebody'd've",
  "somebody'dve": "somebody'd've",
  somebodyll: "somebody'll",
  somebodys: "somebody's",
  someoned: "someone'd",
  "someoned've": "someone'd've",
  "someone'dve": "someone'd've",
  someonell: "someone'll",
  someones: "someone's",
  somethingd: "something'd",
  "somethingd've": "something'd've",
  "something'dve": "something'd've",
  somethingll: "something'll",
  thats: "that's",
  thered: "there'd",
  "thered've": "there'd've",
  "there'dve": "there'd've",
  therere: "there're",
  theres: "there's",
  theyd: "they'd",
  "theyd've": "they'd've",
  "they'dve": "they'd've",
  theyll: "they'll",
  theyre: "they're",
  theyve: "they've",
  twas: "'twas",
  wasnt: "wasn't",
  "wed've": "we'd've",
  "we'dve": "we'd've",
  weve: "we've",
  werent: "weren't",
  whatll: "what'll",
  whatre: "what're",
  whats: "what's",
  whatve: "what've",
  whens: "when's",
  whered: "where'd",
  wheres: "where's",
  whereve: "where've",
  whod: "who'd",
  "whod've": "who'd've",
  "who'dve": "who'd've",
  wholl: "who'll",
  whos: "who's",
  whove: "who've",
  whyll: "why'll",
  whyre: "why're",
  whys: "why's",
  wont: "won't",
  wouldve: "would've",
  wouldnt: "wouldn't",
  "wouldnt've": "wouldn't've",
  "wouldn'tve": "wouldn't've",
  yall: "y'all",
  "yall'll": "y'all'll",
  "y'allll": "y'all'll",
  "yall'd've": "y'all'd've",
  "y'alld've": "y'all'd've",
  "y'all'dve": "y'all'd've",
  youd: "you'd",
  "youd've": "you'd've",
  "you'dve": "you'd've",
  youll: "you'll",
  youre: "you're",
  youve: "you've",
};

/** vqaEval.py `manualMap`: number words (and "none") to digits. */
const MANUAL_MAP: Readonly<Record<string, string>> = {
  none: '0',
  zero: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
  ten: '10',
};

const ARTICLES: ReadonlySet<string> = new Set(['a', 'an', 'the']);

/** vqaEval.py `punct`, in its order. No ':' or "'" (apostrophes survive, so the
 * contractions table can apply), no '.' (handled by PERIOD_STRIP). */
const PUNCT: readonly string[] = [';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!'];

/**
 * vqaEval.py `periodStrip = re.compile("(?!<=\d)(\.)(?!\d)")`. The intended
 * look-behind is written as a look-ahead for the text "<=\d", which can never
 * match at a '.', so in effect: every '.' not followed by a digit.
 */
const PERIOD_STRIP = /(?!<=\d)(\.)(?!\d)/g;
/** vqaEval.py `periodStrip.sub("", outText, re.UNICODE)` passes re.UNICODE (32)
 * as sub's `count`: at most 32 periods are removed. */
const PERIOD_STRIP_COUNT = 32;
/** vqaEval.py `commaStrip`: a comma between two digits ("1,000"). */
const COMMA_STRIP = /(\d)(,)(\d)/;

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** vqaEval.py processPunctuation. */
export function processPunctuation(inText: string): string {
  let outText = inText;
  const digitComma = COMMA_STRIP.test(inText);
  for (const p of PUNCT) {
    // The test looks at the input text, the replacement works on the output.
    if (inText.includes(p + ' ') || inText.includes(' ' + p) || digitComma) {
      outText = outText.replaceAll(p, '');
    } else {
      outText = outText.replaceAll(p, ' ');
    }
  }
  let removed = 0;
  return outText.replace(PERIOD_STRIP, (m) => (removed++ < PERIOD_STRIP_COUNT ? '' : m));
}

/** vqaEval.py processDigitArticle: lower-case, number words → digits, drop
 * articles, expand the contractions table. */
export function processDigitArticle(inText: string): string {
  const out: string[] = [];
  for (const raw of inText.toLowerCase().split(/[ \t\n\r\v\f]+/)) {
    if (raw === '') continue; // Python's split() drops empty fields
    const word = hasOwn(MANUAL_MAP, raw) ? MANUAL_MAP[raw]! : raw;
    if (!ARTICLES.has(word)) out.push(word);
  }
  return out.map((w) => (hasOwn(CONTRACTIONS, w) ? CONTRACTIONS[w]! : w)).join(' ');
}

/**
 * The official VQA answer normalisation: tabs/newlines → spaces, strip, then
 * processPunctuation and processDigitArticle. E.g. "Two" → "2", "a dog." → "dog",
 * "dont" → "don't", "1,000" → "1000", "yes!" → "yes".
 */
export function normalizeAnswer(answer: string): string {
  const a = answer.replaceAll('\n', ' ').replaceAll('\t', ' ').trim();
  return processDigitArticle(processPunctuation(a));
}

/**
 * The official VQA accuracy of one prediction: for each of the N annotators,
 * min(#other annotators whose answer equals the prediction / 3, 1), averaged over
 * the N leave-one-out subsets. Both sides go through normalizeAnswer. With 10
 * answers of which k match: k = 0, 1, 2, 3, ≥4 → 0, 0.3, 0.6, 0.9, 1. For N < 10
 * the plain min(k / 3, 1) is used instead (see the header: the leave-one-out
 * average would cap 3 unanimous answers at 2/3 and score a single answer 0):
 * 3 answers: 0, 1/3, 2/3, 1; 1 answer: 0 or 1/3.
 */
export function vqaAccuracy(predicted: string, annotatorAnswers: readonly string[]): number {
  if (annotatorAnswers.length === 0) throw new Error('vqaAccuracy: no annotator answers');
  const pred = normalizeAnswer(predicted);
  const matches = annotatorAnswers.map((a) => normalizeAnswer(a) === pred);
  const k = matches.filter(Boolean).length;
  if (matches.length < 10) return Math.min(1, k / 3);
  let sum = 0;
  for (let i = 0; i < matches.length; i++) sum += Math.min(1, (matches[i] ? k - 1 : k) / 3);
  return sum / matches.length;
}

/** Exact match after normalizeAnswer on both sides: 1 or 0. */
export function exactMatch(predicted: string, answer: string): number {
  return normalizeAnswer(predicted) === normalizeAnswer(answer) ? 1 : 0;
}

export interface VqaTypeScores {
  count: number;
  /** Exact match (after normalizeAnswer) against `example.answer`. */
  accuracy: number;
  /** Official leave-one-out VQA accuracy against `example.answers`. */
  vqaAccuracy: number;
  /** WUPS@0.9 / WUPS@0.0 of the raw prediction against `example.answer` (only with opts.wups). */
  wups0_9?: number;
  wups0_0?: number;
}

export interface VqaScores extends VqaTypeScores {
  /** Per `example.type`, keys sorted. */
  byType: Record<string, VqaTypeScores>;
}

interface Sums {
  count: number;
  accuracy: number;
  vqaAccuracy: number;
  wups0_9: number;
  wups0_0: number;
}

function finish(s: Sums, withWups: boolean): VqaTypeScores {
  const out: VqaTypeScores = {
    count: s.count,
    accuracy: s.accuracy / s.count,
    vqaAccuracy: s.vqaAccuracy / s.count,
  };
  if (withWups) {
    out.wups0_9 = s.wups0_9 / s.count;
    out.wups0_0 = s.wups0_0 / s.count;
  }
  return out;
}

/**
 * Score predictions[i] against examples[i]. Means over examples, overall and per
 * `example.type` (per-type VQA accuracy uses each question's leave-one-out mean,
 * as vqaEval.py does since its 2021 fix). WUPS is computed only when a loaded
 * Wups is given, on the raw prediction and `example.answer` (Ren et al. 2015).
 */
export function scoreVqa(predictions: readonly string[], examples: readonly VqaReference[], opts: { wups?: Wups } = {}): VqaScores {
  if (predictions.length !== examples.length) {
    throw new Error(`scoreVqa: ${predictions.length} predictions for ${examples.length} examples`);
  }
  if (examples.length === 0) throw new Error('scoreVqa: no examples to score');
  const { wups } = opts;
  const zero = (): Sums => ({ count: 0, accuracy: 0, vqaAccuracy: 0, wups0_9: 0, wups0_0: 0 });
  const total = zero();
  const perType = new Map<string, Sums>();
  examples.forEach((ex, i) => {
    const pred = predictions[i]!;
    if (ex.answers.length === 0) {
      throw new Error(`scoreVqa: example ${i} (question ${JSON.stringify(ex.question)}) has no answers`);
    }
    const acc = exactMatch(pred, ex.answer);
    const vqa = vqaAccuracy(pred, ex.answers);
    const w9 = wups ? wups.score(pred, ex.answer, 0.9) : 0;
    const w0 = wups ? wups.score(pred, ex.answer, 0.0) : 0;
    let t = perType.get(ex.type);
    if (t === undefined) perType.set(ex.type, (t = zero()));
    for (const s of [total, t]) {
      s.count++;
      s.accuracy += acc;
      s.vqaAccuracy += vqa;
      s.wups0_9 += w9;
      s.wups0_0 += w0;
    }
  });
  const byType: Record<string, VqaTypeScores> = {};
  for (const type of [...perType.keys()].sort()) byType[type] = finish(perType.get(type)!, !!wups);
  return { ...finish(total, !!wups), byType };
}

const pct = (x: number | undefined): string => (x === undefined ? '–' : (100 * x).toFixed(2));

/**
 * Markdown table for model cards: one row per question type, then "overall";
 * scores in percent with 2 decimals (as vqaEval.py reports them). WUPS columns
 * only when the scores have them.
 */
export function formatVqaTable(scores: VqaScores): string {
  const withWups = scores.wups0_9 !== undefined;
  const head = ['type', 'n', 'accuracy', 'VQA accuracy', ...(withWups ? ['WUPS@0.9', 'WUPS@0.0'] : [])];
  const row = (name: string, s: VqaTypeScores): string[] => [
    name,
    String(s.count),
    pct(s.accuracy),
    pct(s.vqaAccuracy),
    ...(withWups ? [pct(s.wups0_9), pct(s.wups0_0)] : []),
  ];
  const rows = [...Object.entries(scores.byType).map(([type, s]) => row(type, s)), row('**overall**', scores)];
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n') + '\n';
}
