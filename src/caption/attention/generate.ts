import type { SelectedRegions } from '../../encoder/regions.js';
import type { DetectedObject } from '../../encoder/types.js';
import type { WordTable } from '../../grounding/words.js';
import { greedySearch, runSearch, type Hypothesis, type Search, type StackableStepModel, type StepModel } from '../../search/index.js';
import { END_ID, START_ID, type Vocab } from '../../text/vocab.js';
import { searchCaptionSteps, searchManyInLockstep, TOKENS } from '../generate.js';
import type { CaptionSearchOptions } from '../options.js';
import { padRegions } from './data.js';
import { regionLinks, type AttentionWord } from './links.js';
import { attentionStepModel, type AttentionNet, type AttentionState, type StepRules } from './step-model.js';
import { classWords, NO_BANS, supportedClasses, unsupportedWords, type ClassWords, type WordBans } from './support.js';

/** A decoder ready to caption: its net (tfjs or onnxruntime), vocabulary and shapes. */
export interface AttentionDecoder {
  net: AttentionNet;
  vocab: Vocab;
  regionDim: number;
  /** Every row is padded to this many regions, so rows of different images stack. */
  maxRegions: number;
  lm: StackableStepModel<AttentionState>;
}

export function attentionDecoder(
  net: AttentionNet,
  vocab: Vocab,
  regionDim: number,
  maxRegions: number,
  rules: StepRules = {},
): AttentionDecoder {
  return { net, vocab, regionDim, maxRegions, lm: attentionStepModel(net, vocab.size, rules) };
}

/** The first search state, one row per image, each padded to maxRegions + 1 regions; `banned` per image (none by default). */
export function attentionInitialState(
  decoder: AttentionDecoder,
  images: readonly SelectedRegions[],
  banned: readonly (readonly number[])[] = images.map(() => []),
): AttentionState {
  const k = decoder.maxRegions + 1;
  const { regions, mask } = padRegions(images, decoder.regionDim, k);
  return { ...decoder.net.initial(regions, mask, images.length, k), banned };
}

/** Greedy captions of many images at once (validation, SCST's baseline): word ids without <end>. */
export function greedyAttention(decoder: AttentionDecoder, images: readonly SelectedRegions[], maxLength: number): number[][] {
  const init = attentionInitialState(decoder, images);
  return greedySearch(decoder.lm, init, images.length, TOKENS, maxLength).map((h) => h.ids);
}

/** A caption with its words tied to the regions the decoder attended to (links.ts). */
export interface AttentionCaption {
  text: string;
  logprob: number;
  words: AttentionWord[];
}

/**
 * What holds captions to the regions: the word table (which words name which class, for the
 * links), the vocabulary's class words, and the unsupported-class rule's threshold (support.ts;
 * undefined turns the rule off, for the ablation).
 */
export interface AttentionRules {
  table: WordTable;
  words: ClassWords;
  supportMinScore?: number;
}

export function attentionRules(table: WordTable, vocab: Vocab, supportMinScore?: number): AttentionRules {
  return { table, words: classWords(table, vocab), ...(supportMinScore === undefined ? {} : { supportMinScore }) };
}

/**
 * An image as the attention decoder captions it: its kept regions and, when given, every detection
 * that may support a class (the kept regions' objects when absent). A threshold under the regions'
 * own lets a detection the decoder does not attend to still support its class: CenterNet scores
 * many Flickr8k dogs between 0.1 and 0.2.
 */
export type AttentionImage = SelectedRegions & { detections?: readonly DetectedObject[] };

/** An image's bans under the rules: the class words no detection of score ≥ supportMinScore supports. */
export function imageBans(rules: AttentionRules, image: AttentionImage): WordBans {
  if (rules.supportMinScore === undefined) return NO_BANS;
  return unsupportedWords(rules.words, supportedClasses(image.detections ?? image.objects, rules.supportMinScore));
}

/** The first state of `images` with their bans (one row each). */
function boundInitialState(d: AttentionDecoder, rules: AttentionRules, images: readonly AttentionImage[]): AttentionState {
  const bans = images.map((img) => imageBans(rules, img));
  return {
    ...attentionInitialState(
      d,
      images,
      bans.map((b) => b.banned),
    ),
    phrases: bans.map((b) => b.phrases),
  };
}

/** What the decoder attended to while writing each word of one caption: region shares [k] and β, per word. */
interface WordAttention {
  alpha: Float32Array[];
  beta: number[];
}

/** Words of a hypothesis: its ids before <end>. */
function wordCount(h: Hypothesis): number {
  const end = h.ids.indexOf(END_ID);
  return end < 0 ? h.ids.length : end;
}

/**
 * Teacher-forced replay of `hyps` from the image's first row `init` (not disposed): the attention
 * of the step that wrote each word. A coroutine (see Search), so replays of several images run in
 * lockstep like their searches; the search itself keeps no per-hypothesis history of attention.
 */
function* attendWords(
  lm: StepModel<AttentionState>,
  init: AttentionState,
  hyps: readonly Hypothesis[],
): Search<AttentionState, WordAttention[]> {
  const lengths = hyps.map(wordCount);
  const out: WordAttention[] = hyps.map(() => ({ alpha: [], beta: [] }));
  const longest = Math.max(0, ...lengths);
  if (longest === 0) return out;
  let s = lm.gather(
    init,
    hyps.map(() => 0),
  );
  let prev = hyps.map(() => START_ID);
  try {
    for (let t = 0; t < longest; t++) {
      const step = yield { state: s, tokens: prev };
      lm.dispose(s);
      s = step.state;
      const { k, alpha, beta } = s;
      if (!alpha || !beta) throw new Error('attendWords: the step model returned no attention');
      hyps.forEach((_, r) => {
        if (t >= lengths[r]!) return;
        out[r]!.alpha.push(alpha.slice(r * k, (r + 1) * k));
        out[r]!.beta.push(beta[r]!);
      });
      prev = hyps.map((h) => h.ids[t] ?? END_ID);
    }
  } finally {
    lm.dispose(s);
  }
  return out;
}

function toCaption(
  d: AttentionDecoder,
  rules: AttentionRules,
  image: SelectedRegions,
  h: Hypothesis,
  att: WordAttention,
): AttentionCaption {
  const tokens = d.vocab.decode(h.ids);
  const links = regionLinks(rules.table, tokens, att.alpha, image.objects);
  const words = tokens.map((text, t) => {
    const region = links[t];
    return region === undefined ? { text, beta: att.beta[t]! } : { text, region, beta: att.beta[t]! };
  });
  return { text: tokens.join(' '), logprob: h.logprob, words };
}

/** Captions for one image from its first row `init` (not disposed): the search, then the replay that links its words. */
function* attentionCaptionSteps(
  d: AttentionDecoder,
  rules: AttentionRules,
  image: AttentionImage,
  init: AttentionState,
  opts: CaptionSearchOptions,
): Search<AttentionState, AttentionCaption[]> {
  const hyps = yield* searchCaptionSteps(d.lm, init, opts);
  const attention = yield* attendWords(d.lm, init, hyps);
  return hyps.map((h, r) => toCaption(d, rules, image, h, attention[r]!));
}

/** Captions for one image's kept regions (greedy, beam or sampling, as `opts` say). */
export function generateAttention(
  d: AttentionDecoder,
  rules: AttentionRules,
  image: AttentionImage,
  opts: CaptionSearchOptions,
): AttentionCaption[] {
  const init = boundInitialState(d, rules, [image]);
  try {
    return runSearch(d.lm, attentionCaptionSteps(d, rules, image, init, opts));
  } finally {
    d.lm.dispose(init);
  }
}

/**
 * Captions for several images, each with its own options, as generateAttention gives them one
 * by one; their searches and replays run in lockstep, each decoder step one batch over every
 * image's rows. Returns each image's captions or the error its search threw.
 */
export function generateAttentionMany(
  d: AttentionDecoder,
  rules: AttentionRules,
  items: readonly { image: AttentionImage; opts: CaptionSearchOptions }[],
): (AttentionCaption[] | Error)[] {
  if (items.length === 0) return [];
  const init = boundInitialState(
    d,
    rules,
    items.map((it) => it.image),
  );
  try {
    return searchManyInLockstep(d.lm, init, items.length, (i, row) =>
      attentionCaptionSteps(d, rules, items[i]!.image, row, items[i]!.opts),
    );
  } finally {
    d.lm.dispose(init);
  }
}
