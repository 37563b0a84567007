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
    private readonly models: Map<string, VqaModel>,
    private readonly encoders: Map<string, Encoder>,
    private readonly owned: Encoder[],
    readonly defaultModel: string,
    /** Each model's onnxruntime graph, when they run there (else tfjs). */
    private readonly onnx: Map<string, OnnxVqa> = new Map(),
    /** Per model, a batcher over concurrent requests' questions (the server's dynamic batching), when asked for. */
    private readonly batchers: Map<string, Batcher<Question, Float32Array>> = new Map(),
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
    const models = new Map<string, VqaModel>();
    const onnx = new Map<string, OnnxVqa>();
    const disposeAll = () => {
      for (const m of models.values()) m.dispose();
      for (const o of onnx.values()) o.dispose();
      for (const e of owned) e.dispose();
    };
    try {
      for (const name of names) {
        const model = await VqaModel.load(path.join(dir, name));
        models.set(name, model);
        let encoder = encoders.get(model.config.encoder);
        if (!encoder) {
          encoder = await loadEncoder(model.config.encoder, modelsDir, runtime);
          encoders.set(encoder.name, encoder);
          owned.push(encoder);
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
    const service = new VqaService(models, encoders, owned, preferred, onnx);
    if (opts.batch) {
      const batch = opts.batch;
      for (const name of names) {
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
    return this.modelNames.map((name) => [name, this.onnx.has(name) ? 'onnx' : 'tfjs']);
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

  private model(name: string): VqaModel {
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

  dispose(): void {
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
