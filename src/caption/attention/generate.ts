import type { SelectedRegions } from '../../encoder/regions.js';
import type { DetectedObject } from '../../encoder/types.js';
import type { WordTable } from '../../grounding/words.js';
import { fineCandidates } from '../grounded/data.js';
import { decodeSlotToken, slotRegion, slotRules, slotText, type SlotRules } from './slot-tokens.js';
import { runSearch, type Hypothesis, type Search, type StackableStepModel } from '../../search/index.js';
import { END_ID, type Vocab } from '../../text/vocab.js';
import { searchCaptionSteps, searchManyInLockstep } from '../generate.js';
import type { CaptionSearchOptions } from '../options.js';
import { padRegions } from '../../data/regions.js';
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
  /** A slots model's slot rules: class words come only from slots, each filled by a region's class (slot-tokens.ts). */
  slots?: SlotRules;
}

/** A model's slot rules (StepRules.slots) when its config has slots: each class's words in its vocabulary. */
export function modelSlotRules(config: { slots?: boolean | undefined }, vocab: Vocab, table: WordTable): Pick<StepRules, 'slots'> {
  return config.slots ? { slots: slotRules(fineCandidates(table, vocab)) } : {};
}

export function attentionDecoder(
  net: AttentionNet,
  vocab: Vocab,
  regionDim: number,
  maxRegions: number,
  rules: StepRules = {},
): AttentionDecoder {
  return {
    net,
    vocab,
    regionDim,
    maxRegions,
    lm: attentionStepModel(net, vocab.size, rules),
    ...(rules.slots ? { slots: rules.slots } : {}),
  };
}

/** The first search state, one row per image, each padded to maxRegions + 1 regions; `banned` per image (none by default). */
export function attentionInitialState(
  decoder: AttentionDecoder,
  images: readonly SelectedRegions[],
  banned: readonly (readonly number[])[] = images.map(() => []),
): AttentionState {
  const k = decoder.maxRegions + 1;
  const { regions, mask } = padRegions(images, decoder.regionDim, k);
  return {
    ...decoder.net.initial(regions, mask, images.length, k),
    banned,
    ...(decoder.slots ? { regionClasses: images.map((img) => img.objects.map((o) => o.classId)) } : {}),
  };
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

/**
 * An image's bans under the rules: the class words no detection of score ≥ supportMinScore supports;
 * for a slots model, every class word (a class is named only by a slot, so only from a kept region).
 */
export function imageBans(rules: AttentionRules, image: AttentionImage, slots = false): WordBans {
  if (slots) return unsupportedWords(rules.words, new Set());
  if (rules.supportMinScore === undefined) return NO_BANS;
  return unsupportedWords(rules.words, supportedClasses(image.detections ?? image.objects, rules.supportMinScore));
}

/** The first state of `images` with their bans under `rules` (one row each). */
export function boundInitialState(d: AttentionDecoder, rules: AttentionRules, images: readonly AttentionImage[]): AttentionState {
  const bans = images.map((img) => imageBans(rules, img, d.slots !== undefined));
  return {
    ...attentionInitialState(
      d,
      images,
      bans.map((b) => b.banned),
    ),
    phrases: bans.map((b) => b.phrases),
  };
}

/** What the decoder attended to at one step: region shares [k] and the sentinel's share β. */
interface Attended {
  alpha: Float32Array;
  beta: number;
}

/** Key of a prefix of written words (the words fed after <start>). */
const prefixKey = (words: readonly number[]): string => words.join(' ');

/**
 * `search` with every step's attention remembered in `seen` by the prefix each row had written
 * (so by the word it was about to write). Each word of a caption the search returns was written
 * by one of those steps, so the links need no second pass over the caption: the attention is the
 * teacher-forced decoder's over it, without its steps. Ending it (return) ends `search`.
 */
function* remembering<R>(search: Search<AttentionState, R>, seen: Map<string, Attended>): Search<AttentionState, R> {
  let done = false;
  try {
    let next = search.next();
    while (!next.done) {
      const result = yield next.value;
      const { k, alpha, beta, written } = result.state;
      if (!alpha || !beta || !written) throw new Error('the attention step model returned no attention');
      written.forEach((words, r) => seen.set(prefixKey(words), { alpha: alpha.slice(r * k, (r + 1) * k), beta: beta[r]! }));
      next = search.next(result);
    }
    done = true;
    return next.value;
  } finally {
    // A search ended early (a failed step in lockstep) frees what it holds.
    if (!done) search.return(undefined as R);
  }
}

/** A caption's tokens up to <end>, each as the words it writes, with its class for a slot token. */
function tokenWords(d: AttentionDecoder, table: WordTable, ids: readonly number[]): { words: string[]; classId?: number }[] {
  const end = ids.indexOf(END_ID);
  return (end < 0 ? ids : ids.slice(0, end)).map((id) => {
    const slot = d.slots ? decodeSlotToken(id, d.vocab.size, d.slots) : undefined;
    return slot ? { words: slotText(d.vocab, table, slot).split(' '), classId: slot.classId } : { words: [d.vocab.word(id)] };
  });
}

/** A caption's text from its tokens (up to <end>), slot tokens as the words they write. */
export function captionText(d: AttentionDecoder, table: WordTable, ids: readonly number[]): string {
  return tokenWords(d, table, ids)
    .flatMap((t) => t.words)
    .join(' ');
}

function toCaption(
  d: AttentionDecoder,
  rules: AttentionRules,
  image: SelectedRegions,
  h: Hypothesis,
  seen: Map<string, Attended>,
): AttentionCaption {
  const attended = h.ids.map((_, t) => {
    const a = seen.get(prefixKey(h.ids.slice(0, t)));
    if (!a) throw new Error(`no attention was seen for token ${t} of [${h.ids.join(' ')}]`);
    return a;
  });
  if (d.slots) {
    // A slot's words link to the region of its class the step that wrote it attended to most.
    const classes = image.objects.map((o) => o.classId);
    const words = tokenWords(d, rules.table, h.ids).flatMap((token, t) => {
      const { alpha, beta } = attended[t]!;
      const region = token.classId === undefined ? undefined : slotRegion(alpha, classes, token.classId);
      return token.words.map((text) => (region === undefined ? { text, beta } : { text, region, beta }));
    });
    return { text: words.map((w) => w.text).join(' '), logprob: h.logprob, words };
  }
  const tokens = d.vocab.decode(h.ids);
  const links = regionLinks(
    rules.table,
    tokens,
    attended.map((a) => a.alpha),
    image.objects,
  );
  const words = tokens.map((text, t) => {
    const region = links[t];
    const beta = attended[t]!.beta;
    return region === undefined ? { text, beta } : { text, region, beta };
  });
  return { text: tokens.join(' '), logprob: h.logprob, words };
}

/** Captions for one image from its first row `init` (not disposed), their words linked by the attention of the steps that wrote them. */
function* attentionCaptionSteps(
  d: AttentionDecoder,
  rules: AttentionRules,
  image: AttentionImage,
  init: AttentionState,
  opts: CaptionSearchOptions,
): Search<AttentionState, AttentionCaption[]> {
  const seen = new Map<string, Attended>();
  const hyps = yield* remembering(searchCaptionSteps(d.lm, init, opts), seen);
  return hyps.map((h) => toCaption(d, rules, image, h, seen));
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
