import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadEncoder } from '../encoder/registry.js';
import { encodeImage, encodeImageWithDetections } from '../encoder/pixels.js';
import { classScores, ENTRY_MIN_SCORE } from '../grounding/entries.js';
import { COCO_LABELS, type Encoder } from '../encoder/types.js';
import type { ImageLimits } from '../image/decode.js';
import { tokenizeWords } from '../text/tokenize.js';
import { CONFIG_FILE, type VqaConfig } from './config.js';
import { VqaModel } from './model.js';
import { TFJS_RUNTIME, type ModelRuntime } from '../onnx/runtime.js';
import { onnxVqa, type OnnxVqa } from './onnx.js';
import { Batcher, type BatcherOptions } from '../batching/batcher.js';
import type { VqaResult } from './reply.js';
import { readVqaConfig } from './config.js';
import { defaultWordTable } from '../grounding/words.js';
import { regionHostInputs, vqaImage, type RegionVqaHostInputs } from './region/data.js';
import { pointerWords, questionClasses, questionKind } from './region/inputs.js';
import { RegionVqaModel } from './region/model.js';
import { onnxRegionVqa, type OnnxRegionVqa } from './region/onnx.js';
import { answerRule, mergeAnswers, predictHost } from './region/predict.js';

/** Indices of the k largest probabilities, largest first (ties: lower index first, as tf.topk). */
export function topAnswers(probs: Float32Array, k: number): number[] {
  const idx = Array.from(probs.keys());
  idx.sort((a, b) => probs[b]! - probs[a]! || a - b);
  return idx.slice(0, Math.min(k, probs.length));
}

export interface ModelSummary {
  name: string;
  version: string;
  arch: string;
  encoder: string;
  answers: number;
}

/**
 * Image + question → ranked answers, from every VQA model under
 * `modelsDir/vqa/<name>/`. Encoders are shared: one already loaded (the
 * caption service's) is reused when a model was trained on it.
 */
export class VqaService {
  private constructor(
    private readonly models: Map<string, VqaModel | RegionVqaModel>,
    private readonly encoders: Map<string, Encoder>,
    private readonly owned: Encoder[],
    readonly defaultModel: string,
    /** Each model's onnxruntime graph, when they run there (else tfjs). */
    private readonly onnx: Map<string, OnnxVqa> = new Map(),
    /** Per model, a batcher over concurrent requests' questions (the server's dynamic batching), when asked for. */
    private readonly batchers: Map<string, Batcher<Question, Float32Array>> = new Map(),
    /** Each region model's onnxruntime graph, when they run there (not batched: one small graph run per question). */
    private readonly regionOnnx: Map<string, OnnxRegionVqa> = new Map(),
  ) {}

  /** Folder names of the VQA models in `dir` (those with a config.json). */
  static modelDirs(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, CONFIG_FILE)))
      .map((d) => d.name)
      .sort();
  }

  /**
   * Load the models in `modelsDir/vqa`. `preferred` names the default model
   * (the first one alphabetically when absent or not found). The question models, and the encoders not
   * `shared`, run on `runtime` (tfjs when not given).
   */
  static async load(
    modelsDir: string,
    opts: { shared?: Encoder[]; preferred?: string; runtime?: ModelRuntime; batch?: BatcherOptions } = {},
  ): Promise<VqaService> {
    const runtime = opts.runtime ?? TFJS_RUNTIME;
    const dir = path.join(modelsDir, 'vqa');
    const names = VqaService.modelDirs(dir);
    if (names.length === 0) throw new Error(`no VQA model in ${dir} (train one with npm run train:vqa)`);
    const encoders = new Map((opts.shared ?? []).map((e) => [e.name, e]));
    const owned: Encoder[] = [];
    const models = new Map<string, VqaModel | RegionVqaModel>();
    const onnx = new Map<string, OnnxVqa>();
    const regionOnnx = new Map<string, OnnxRegionVqa>();
    const disposeAll = () => {
      for (const m of models.values()) m.dispose();
      for (const o of [...onnx.values(), ...regionOnnx.values()]) o.dispose();
      for (const e of owned) e.dispose();
    };
    try {
      for (const name of names) {
        const folder = path.join(dir, name);
        const isRegion = (await readVqaConfig(folder)).arch === 'region-att';
        const model = isRegion ? await RegionVqaModel.load(folder) : await VqaModel.load(folder);
        models.set(name, model);
        let encoder = encoders.get(model.config.encoder);
        if (!encoder) {
          encoder = await loadEncoder(model.config.encoder, modelsDir, runtime);
          encoders.set(encoder.name, encoder);
          owned.push(encoder);
        }
        if (model instanceof RegionVqaModel) {
          if (!encoder.encodeWithRegions) throw new Error(`VQA model ${name} reads regions; encoder ${encoder.name} gives none`);
          if (encoder.dim !== model.config.region!.global.dim)
            throw new Error(
              `VQA model ${name} expects a ${model.config.region!.global.dim}-d image vector; encoder ${encoder.name} gives ${encoder.dim}`,
            );
          if (runtime.runtime === 'onnx') regionOnnx.set(name, onnxRegionVqa(model, runtime.device));
          continue;
        }
        const extra = model.config.detectionScores ? COCO_LABELS.length : 0;
        if (model.config.detectionScores && !encoder.encodeAndDetect)
          throw new Error(`VQA model ${name} needs detections; encoder ${encoder.name} has no detector`);
        if (encoder.dim + extra !== model.config.featureDim) {
          throw new Error(
            `VQA model ${name} expects ${model.config.featureDim}-d features; encoder ${encoder.name} gives ${encoder.dim}${extra ? ' + 80 detection scores' : ''}`,
          );
        }
        if (runtime.runtime === 'onnx') onnx.set(name, onnxVqa(model, runtime.device));
      }
    } catch (err) {
      disposeAll();
      throw err;
    }
    const fallback = names[0]!;
    const preferred = opts.preferred && models.has(opts.preferred) ? opts.preferred : fallback;
    const service = new VqaService(models, encoders, owned, preferred, onnx, new Map(), regionOnnx);
    if (opts.batch) {
      const batch = opts.batch;
      for (const name of names.filter((n) => models.get(n) instanceof VqaModel)) {
        const run = async (qs: Question[]) => splitRows(service.predictRows(name, qs), qs.length);
        service.batchers.set(name, new Batcher(run, batch));
      }
    }
    return service;
  }

  /**
   * Answer probabilities [n, answers] (row-major) for n (features, question)
   * pairs in one run of model `name`; questions of different lengths are
   * padded and masked, so each row is what it would be alone.
   */
  predictRows(name: string, qs: readonly Question[]): Float32Array {
    const model = this.model(name);
    if (!(model instanceof VqaModel)) throw new Error(`VQA model ${name} reads regions, not feature rows`);
    const D = model.config.featureDim;
    const features = new Float32Array(qs.length * D);
    qs.forEach((q, i) => features.set(q.features, i * D));
    const questions = qs.map((q) => q.ids);
    const onnx = this.onnx.get(name);
    if (onnx) return onnx.predict(features, questions);
    return tf.tidy(() => model.predict(tf.tensor2d(features, [qs.length, D]), questions).dataSync() as Float32Array);
  }

  /** Where each model runs, by name. */
  runtimes(): [string, 'onnx' | 'tfjs'][] {
    return this.modelNames.map((name) => [name, this.onnx.has(name) || this.regionOnnx.has(name) ? 'onnx' : 'tfjs']);
  }

  get modelNames(): string[] {
    return [...this.models.keys()];
  }

  summaries(): ModelSummary[] {
    return [...this.models.entries()].map(([name, m]) => ({
      name,
      version: m.config.version,
      arch: m.config.arch,
      encoder: m.config.encoder,
      answers: m.config.answers.length,
    }));
  }

  /** Each loaded model's config, by name (read-only: for GET /models). */
  configs(): [string, Readonly<VqaConfig>][] {
    return [...this.models.entries()].map(([name, m]) => [name, m.config]);
  }

  private model(name: string): VqaModel | RegionVqaModel {
    const m = this.models.get(name);
    if (!m) throw new Error(`no VQA model named ${name}`);
    return m;
  }

  /** The question's words the model does not know. */
  unknownWords(question: string, modelName = this.defaultModel): string[] {
    const m = this.model(modelName);
    return [
      ...new Set(
        tokenizeWords(question)
          .slice(0, m.config.maxQuestionWords)
          .filter((w) => !m.vocab.has(w)),
      ),
    ];
  }

  /** Top-k answers to `question` about `image` from model `modelName`. */
  async answer(image: Buffer, question: string, opts: { topK: number; model?: string }, limits?: ImageLimits): Promise<VqaResult> {
    const name = opts.model ?? this.defaultModel;
    const model = this.model(name);
    const encoder = this.encoders.get(model.config.encoder)!;
    if (model instanceof RegionVqaModel) return this.answerWithRegions(name, model, encoder, image, question, opts.topK, limits);
    const { features, decodeMs, encodeMs } = model.config.detectionScores
      ? await withDetectionScores(encoder, image, limits)
      : await encodeImage(encoder, image, limits);
    const t0 = performance.now();
    let row: Float32Array;
    try {
      row = (await features.data()) as Float32Array;
    } finally {
      features.dispose();
    }
    const q: Question = { features: row, ids: model.encodeQuestion(question) };
    const batcher = this.batchers.get(name);
    const probs = batcher ? await batcher.submit(q) : this.predictRows(name, [q]);
    const answers = topAnswers(probs, opts.topK).map((a) => ({ answer: model.config.answers[a]!, score: round4(probs[a]!) }));
    return {
      answers,
      model: { name, version: model.config.version },
      unknown_words: this.unknownWords(question, name),
      timings_ms: { decode_image: round1(decodeMs), encode: round1(encodeMs), answer: round1(performance.now() - t0) },
    };
  }

  /**
   * Top-k answers of a region model, each with its evidence: the region its attention weighted
   * most (among the regions that point to a pointer answer), with box, label and weight.
   */
  private async answerWithRegions(
    name: string,
    model: RegionVqaModel,
    encoder: Encoder,
    image: Buffer,
    question: string,
    topK: number,
    limits?: ImageLimits,
  ): Promise<VqaResult> {
    const r = model.config.region!;
    const out = await encodeImageWithDetections(encoder, image, limits, r.detectMinScore, { regions: true });
    let global: Float32Array;
    try {
      global = (await out.features.data()) as Float32Array;
    } finally {
      out.features.dispose();
    }
    const t0 = performance.now();
    const objects = out.detections?.objects ?? [];
    const img = vqaImage(out.regions!, objects, global, r.maxRegions, r.minScore);
    const table = defaultWordTable();
    const host = regionHostInputs(
      table,
      model.config.featureDim,
      [{ image: 0, ids: model.encodeQuestion(question), classes: questionClasses(table, question) }],
      [img],
    );
    const { probs, alpha } = this.regionPredict(name, model, host);
    const kept = img.selected.objects;
    const rule = answerRule(model, table, kept, questionKind(question));
    const answers = mergeAnswers(model.config.answers, pointerWords(table, kept), probs, alpha, kept.length + 1, topK, rule).map((a) => ({
      answer: a.answer,
      score: round4(a.score),
      evidence: {
        box: (kept[a.region]?.box ?? [0, 0, 1, 1]).map(round4) as [number, number, number, number],
        label: kept[a.region]?.label ?? 'image',
        weight: round4(a.weight),
      },
    }));
    return {
      answers,
      model: { name, version: model.config.version },
      unknown_words: this.unknownWords(question, name),
      timings_ms: { decode_image: round1(out.decodeMs), encode: round1(out.encodeMs), answer: round1(performance.now() - t0) },
    };
  }

  /** A region model's probabilities over [answers; pointer] and attention, on onnxruntime or tfjs. */
  private regionPredict(name: string, model: RegionVqaModel, host: RegionVqaHostInputs): { probs: Float32Array; alpha: Float32Array } {
    const onnx = this.regionOnnx.get(name);
    return onnx ? onnx.predict(host) : predictHost(model, host);
  }

  dispose(): void {
    for (const o of this.regionOnnx.values()) o.dispose();
    for (const o of this.onnx.values()) o.dispose();
    for (const m of this.models.values()) m.dispose();
    for (const e of this.owned) e.dispose();
  }
}

/** One request's input to a VQA model: its image's features and its question's word ids. */
export interface Question {
  features: Float32Array;
  ids: readonly number[];
}

/** Row i of n equal rows, copied (each request owns its row). */
function splitRows(rows: Float32Array, n: number): Float32Array[] {
  const w = rows.length / n;
  return Array.from({ length: n }, (_, i) => rows.slice(i * w, (i + 1) * w));
}

const round1 = (ms: number) => Math.round(ms * 10) / 10;
const round4 = (p: number) => Math.round(p * 1e4) / 1e4;

/** [v; d]: the encoder's features and the per-class detection scores, from one forward pass ([1, dim + 80]). */
async function withDetectionScores(
  encoder: Encoder,
  image: Buffer,
  limits?: ImageLimits,
): Promise<{ features: tf.Tensor2D; decodeMs: number; encodeMs: number }> {
  const out = await encodeImageWithDetections(encoder, image, limits, ENTRY_MIN_SCORE);
  const features = tf.tidy(
    () => tf.concat([out.features, tf.tensor2d(classScores(out.detections?.objects ?? []), [1, COCO_LABELS.length])], 1) as tf.Tensor2D,
  );
  out.features.dispose();
  return { features, decodeMs: out.decodeMs, encodeMs: out.encodeMs };
}
