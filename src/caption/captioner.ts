import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { DetectedObject } from '../encoder/types.js';
import { objectEntries, type ObjectEntry } from '../grounding/entries.js';
import { defaultWordTable, findMentions, type WordTable } from '../grounding/words.js';
import { CONFIG_FILE } from '../nn/model-config.js';
import { captionsFromMany } from './generate.js';
import { captionStepModel } from './step-model.js';
import { groundedImage } from './grounded/data.js';
import { generateGrounded, generateGroundedMany, groundedDecoder, type CaptionWord } from './grounded/generate.js';
import { GroundedModel } from './grounded/model.js';
import { tfjsGroundedNet } from './grounded/step-model.js';
import { TFJS_RUNTIME, type DecoderRuntime } from '../onnx/runtime.js';
import { onnxGroundedNet } from './grounded/onnx.js';
import { onnxCaptionDecoder } from './onnx.js';
import { CaptionModel } from './model.js';
import type { CaptionSearchOptions } from './options.js';
import { templateCaption } from './template.js';
import { selectRegions, type SelectedRegions } from '../encoder/regions.js';
import { supportMinScore } from './attention/config.js';
import {
  attentionDecoder,
  attentionRules,
  generateAttentionMany,
  modelSlotRules,
  type AttentionCaption,
  type AttentionImage,
} from './attention/generate.js';
import { AttentionModel } from './attention/model.js';
import { onnxAttentionNet } from './attention/onnx.js';
import { tfjsAttentionNet } from './attention/step-model.js';

/** What a captioner reads for one image: the encoder's vector and the detected objects. */
export interface ImageEvidence {
  features: Float32Array;
  objects: readonly DetectedObject[];
  /**
   * Present when the encoder gives regions (src/encoder/regions.ts): regionDescriptors of
   * `objects`, in their order, then the whole image, [objects.length + 1, R] row-major.
   */
  regions?: Float32Array;
}

export interface CaptionOut {
  text: string;
  logprob: number;
  /** The caption's words; `entry` indexes `entries` when the word names a detected class. */
  words: CaptionWord[];
}

/** Any caption model, as the service, the evaluation and the scripts see it. */
export interface Captioner {
  readonly kind: 'caption-lstm' | 'caption-grounded' | 'caption-attention' | 'template';
  /** Where the decoder runs ('tfjs' for the template, which has no tensors). */
  readonly runtime: 'tfjs' | 'onnx';
  readonly name: string;
  readonly version: string;
  /** The encoder whose features it reads ("" for the template, which reads only detections). */
  readonly encoder: string;
  readonly featureDim: number;
  /** Lowest detection score it uses. */
  readonly minScore: number;
  readonly wantsRegions?: boolean; // it reads ImageEvidence.regions: the service asks its encoder for them (encodeWithRegions)
  /** The detected classes its words can point at (entry indexes in CaptionOut.words). */
  entries(objects: readonly DetectedObject[]): ObjectEntry[];
  caption(image: ImageEvidence, opts: CaptionSearchOptions): CaptionOut[];
  /**
   * Present when the decoder can caption several images in one go, each decoder
   * step one batch over all their rows: per image, what caption() gives or the
   * error it throws.
   */
  captionMany?(items: readonly { image: ImageEvidence; opts: CaptionSearchOptions }[]): (CaptionOut[] | Error)[];
  /** Vocabulary size (0 for the template). */
  readonly vocabSize: number;
  /** The model card's scores (config.json metrics). */
  readonly metrics?: Record<string, unknown>;
  /** How it was trained (config.json training: options, history). */
  readonly training?: Record<string, unknown>;
  dispose(): void;
}

/** The template's threshold: best coco-dev CIDEr-D of 0.15 / 0.2 / 0.25 / 0.3 (0.333 / 0.321 / 0.299 / 0.273). */
const TEMPLATE_MIN_SCORE = 0.15;
/** Display threshold for the plain decoder's entries: the detector's default. */
const PLAIN_MIN_SCORE = 0.3;

/**
 * Words of a caption tied to the entries they name, by the word table: a
 * plain decoder's "dog" points at the detected dog. Only the first mention
 * of each entry, as the grounded decoder does.
 */
export function attributeWords(table: WordTable, text: string, entries: readonly ObjectEntry[]): CaptionWord[] {
  const tokens = text.split(' ').filter(Boolean);
  const words: CaptionWord[] = tokens.map((t) => ({ text: t }));
  const used = new Set<number>();
  for (const m of findMentions(table, tokens)) {
    const entry = entries.findIndex((e) => e.classId === m.classId);
    if (m.ambiguous || entry < 0 || used.has(entry)) continue;
    used.add(entry);
    for (let i = m.start; i < m.end; i++) words[i] = { text: tokens[i]!, entry };
  }
  return words;
}

/** The model card's scores and training record, when its config has them. */
function cardFields(config: {
  metrics?: Record<string, unknown>;
  training?: Record<string, unknown>;
}): Pick<Captioner, 'metrics' | 'training'> {
  return { ...(config.metrics ? { metrics: config.metrics } : {}), ...(config.training ? { training: config.training } : {}) };
}

/** caption() as captionMany() of one image, and captionMany itself. */
function fromMany(captionMany: NonNullable<Captioner['captionMany']>): Pick<Captioner, 'caption' | 'captionMany'> {
  return {
    caption(image, opts) {
      const [out] = captionMany([{ image, opts }]);
      if (out instanceof Error) throw out;
      return out!;
    },
    captionMany,
  };
}

function plainCaptioner(model: CaptionModel, table: WordTable, rt: DecoderRuntime): Captioner {
  const entries = (objects: readonly DetectedObject[]) => objectEntries(objects, Infinity, PLAIN_MIN_SCORE);
  const onnx = rt.runtime === 'onnx' ? onnxCaptionDecoder(model, rt.device) : undefined;
  /** Every image's captions, their searches in lockstep from one first-state batch (one image: its search alone). */
  const generateMany = (features: Float32Array, opts: readonly CaptionSearchOptions[]) => {
    if (onnx) return captionsFromMany(onnx.lm, onnx.initialState(features, opts.length), model.vocab, opts);
    const lm = captionStepModel(model);
    const init = tf.tidy(() => model.initialState(tf.tensor2d(features, [opts.length, model.config.featureDim])));
    try {
      return captionsFromMany(lm, init, model.vocab, opts);
    } finally {
      lm.dispose(init);
    }
  };
  const captionMany: NonNullable<Captioner['captionMany']> = (items) => {
    const D = model.config.featureDim;
    const features = new Float32Array(items.length * D);
    items.forEach((it, i) => features.set(it.image.features, i * D));
    return generateMany(
      features,
      items.map((it) => it.opts),
    ).map((r, i) => {
      if (r instanceof Error) return r;
      const found = entries(items[i]!.image.objects);
      return r.map((c) => ({ ...c, words: attributeWords(table, c.text, found) }));
    });
  };
  return {
    kind: 'caption-lstm',
    runtime: onnx ? 'onnx' : 'tfjs',
    name: model.config.name,
    version: model.config.version,
    encoder: model.config.encoder,
    featureDim: model.config.featureDim,
    minScore: PLAIN_MIN_SCORE,
    vocabSize: model.vocab.size,
    ...cardFields(model.config),
    entries,
    ...fromMany(captionMany),
    dispose: () => {
      onnx?.dispose();
      model.dispose();
    },
  };
}

function groundedCaptioner(model: GroundedModel, table: WordTable, rt: DecoderRuntime): Captioner {
  const { maxEntries, entryMinScore } = model.config;
  const net = rt.runtime === 'onnx' ? onnxGroundedNet(model, rt.device) : tfjsGroundedNet(model);
  const decoder = groundedDecoder(model, table, model.config, net);
  const prepare = (image: ImageEvidence) => groundedImage(table, image.features, image.objects, maxEntries, entryMinScore);
  return {
    kind: 'caption-grounded',
    runtime: net.runtime,
    name: model.config.name,
    version: model.config.version,
    encoder: model.config.encoder,
    featureDim: model.config.featureDim,
    minScore: entryMinScore,
    vocabSize: model.vocab.size,
    ...cardFields(model.config),
    entries: (objects) => objectEntries(objects, maxEntries, entryMinScore),
    caption: (image, opts) => generateGrounded(decoder, prepare(image), opts),
    captionMany: (items) =>
      generateGroundedMany(
        decoder,
        items.map((it) => ({ image: prepare(it.image), opts: it.opts })),
      ),
    dispose: () => {
      net.dispose();
      model.dispose();
    },
  };
}

/** Decoding choices a caller may override at load (evaluation: the unsupported-class rule's ablation and threshold). */
export interface CaptionerOverrides {
  /** Attention models: the detection score a kept region needs to support its class (the config's supportMinScore by default). */
  supportMinScore?: number;
  /** Attention models: false lets captions name classes no region supports (the rule off). */
  supportRule?: boolean;
  /** Attention models: never repeat an n-gram of this many words (0: off; the config's noRepeatNgram by default). */
  noRepeatNgram?: number;
}

/**
 * An attention model's captions as CaptionOut: a word's region (an index into the kept regions)
 * becomes the entry of that region's class, so the reply's word → object links keep their shape.
 */
export function attentionCaptionOut(
  captions: readonly AttentionCaption[],
  kept: SelectedRegions,
  entries: readonly ObjectEntry[],
): CaptionOut[] {
  const entryOf = (region: number) => entries.findIndex((e) => e.classId === kept.objects[region]!.classId);
  return captions.map((c) => ({
    text: c.text,
    logprob: c.logprob,
    words: c.words.map((w) => {
      const entry = w.region === undefined ? -1 : entryOf(w.region);
      return entry < 0 ? { text: w.text, beta: w.beta } : { text: w.text, entry, beta: w.beta };
    }),
  }));
}

function attentionCaptioner(model: AttentionModel, table: WordTable, rt: DecoderRuntime, overrides: CaptionerOverrides): Captioner {
  const { maxRegions, regionMinScore, regionDim } = model.config;
  const net = rt.runtime === 'onnx' ? onnxAttentionNet(model, rt.device) : tfjsAttentionNet(model);
  const decoder = attentionDecoder(net, model.vocab, regionDim, maxRegions, {
    noRepeatNgram: overrides.noRepeatNgram ?? model.config.noRepeatNgram ?? 0,
    ...modelSlotRules(model.config, model.vocab, table),
  });
  const threshold = overrides.supportRule === false ? undefined : (overrides.supportMinScore ?? supportMinScore(model.config));
  const rules = attentionRules(table, model.vocab, threshold);
  const entries = (objects: readonly DetectedObject[]) => objectEntries(objects, maxRegions, regionMinScore);
  // The regions the decoder sees are chosen by the one function training used (selectRegions);
  // every detection given may support its class.
  const kept = (image: ImageEvidence): AttentionImage => {
    if (!image.regions)
      throw new Error(`${model.config.name} is an attention caption model and needs the encoder's regions; none came with this image`);
    return { ...selectRegions(image.regions, image.objects, maxRegions, regionMinScore), detections: image.objects };
  };
  const captionMany: NonNullable<Captioner['captionMany']> = (items) => {
    const selected = items.map((it) => {
      try {
        return kept(it.image);
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    });
    const ready = items
      .map((it, i) => ({ i, opts: it.opts, image: selected[i]! }))
      .filter((r): r is { i: number; opts: CaptionSearchOptions; image: AttentionImage } => !(r.image instanceof Error));
    const out = generateAttentionMany(decoder, rules, ready);
    const results: (CaptionOut[] | Error)[] = selected.map((s) => (s instanceof Error ? s : []));
    ready.forEach((r, j) => {
      const captions = out[j]!;
      results[r.i] = captions instanceof Error ? captions : attentionCaptionOut(captions, r.image, entries(items[r.i]!.image.objects));
    });
    return results;
  };
  return {
    kind: 'caption-attention',
    runtime: net.runtime,
    name: model.config.name,
    version: model.config.version,
    encoder: model.config.encoder,
    // It reads the regions, not ImageEvidence.features.
    featureDim: 0,
    // The encoder gives detections down to the lower of the two: a weaker one may support its class without being a region.
    minScore: Math.min(regionMinScore, threshold ?? regionMinScore),
    wantsRegions: true,
    vocabSize: model.vocab.size,
    ...cardFields(model.config),
    entries,
    ...fromMany(captionMany),
    dispose: () => {
      net.dispose();
      model.dispose();
    },
  };
}

/** The detector-template baseline as a captioner (no weights). */
export function templateCaptioner(table: WordTable = defaultWordTable(), minScore = TEMPLATE_MIN_SCORE): Captioner {
  const entries = (objects: readonly DetectedObject[]) => objectEntries(objects, Infinity, minScore);
  return {
    kind: 'template',
    runtime: 'tfjs',
    name: 'detector-template',
    version: '1',
    encoder: '',
    featureDim: 0,
    minScore,
    vocabSize: 0,
    entries,
    caption: (image) => [{ ...templateCaption(table, entries(image.objects)), logprob: 0 }],
    dispose: () => undefined,
  };
}

/**
 * Load the caption model in `dir`, whichever kind its config.json names; its
 * decoder runs on `runtime` (exported to ONNX in memory for onnx; tfjs when not given).
 */
export async function loadCaptioner(
  dir: string,
  table: WordTable = defaultWordTable(),
  runtime: DecoderRuntime = TFJS_RUNTIME,
  overrides: CaptionerOverrides = {},
): Promise<Captioner> {
  const file = path.join(dir, CONFIG_FILE);
  let kind: unknown;
  try {
    kind = (JSON.parse(await readFile(file, 'utf8')) as { kind?: unknown }).kind;
  } catch (err) {
    throw new Error(`cannot read caption model config ${file}: ${(err as Error).message}`);
  }
  if (kind === 'caption-grounded') return withModel(await GroundedModel.load(dir), (m) => groundedCaptioner(m, table, runtime));
  if (kind === 'caption-lstm') return withModel(await CaptionModel.load(dir), (m) => plainCaptioner(m, table, runtime));
  if (kind === 'caption-attention') {
    return withModel(await AttentionModel.load(dir), (m) => attentionCaptioner(m, table, runtime, overrides));
  }
  throw new Error(`${file}: "kind" must be caption-lstm, caption-grounded or caption-attention; got ${JSON.stringify(kind)}`);
}

/** build(model), disposing the model when that fails (an ONNX session that does not start). */
function withModel<M extends { dispose(): void }>(model: M, build: (m: M) => Captioner): Captioner {
  try {
    return build(model);
  } catch (err) {
    model.dispose();
    throw err;
  }
}
