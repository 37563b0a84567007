import path from 'node:path';
import { loadEncoder } from '../encoder/registry.js';
import type { Encoder } from '../encoder/types.js';
import * as tf from '@tensorflow/tfjs';
import { encodeFeatures, encodeImageWithDetections } from '../encoder/pixels.js';
import { REGION_ENCODER } from '../encoder/regions.js';
import type { ObjectEntry } from '../grounding/entries.js';
import { decodeToRgb, type ImageLimits, type RgbImage } from '../image/decode.js';
import { loadCaptioner, type CaptionOut, type Captioner } from './captioner.js';
import type { CaptionSearchOptions } from './options.js';
import { TFJS_RUNTIME, type ModelRuntime } from '../onnx/runtime.js';
import type { BatcherOptions } from '../batching/batcher.js';
import { batchDecoder, decodeAlone, type Decode } from './batched.js';
import type { Box, CaptionResult } from './reply.js';

/** Objects at or above this are always reported; weaker ones only when a caption names them. */
export const REPORT_MIN_SCORE = 0.3;

/**
 * The objects to report and the captions' words pointing into them: every
 * entry the detector is fairly sure of, plus any weaker one a caption names.
 */
export function reportObjects(
  entries: readonly ObjectEntry[],
  captions: readonly CaptionOut[],
): Pick<CaptionResult, 'objects' | 'captions'> {
  const named = new Set(captions.flatMap((c) => c.words.flatMap((w) => (w.entry === undefined ? [] : [w.entry]))));
  const shown = entries.map((e, j) => ({ e, j })).filter(({ e, j }) => e.score >= REPORT_MIN_SCORE || named.has(j));
  const at = new Map(shown.map(({ j }, i) => [j, i]));
  const round = (v: number) => Math.round(v * 1000) / 1000;
  const box = (b: readonly number[]) => b.map(round) as Box;
  return {
    objects: shown.map(({ e }) => ({ label: e.label, score: round(e.score), count: e.count, box: box(e.box), boxes: e.boxes.map(box) })),
    captions: captions.map((c) => ({
      text: c.text,
      logprob: c.logprob,
      words: c.words.map((w) => (w.entry === undefined ? { text: w.text } : { text: w.text, object: at.get(w.entry)! })),
    })),
  };
}

export interface CaptionLoadOptions {
  /** Where the decoder, and the encoder unless `loadEncoder` is given, run; tfjs when not given. */
  runtime?: ModelRuntime;
  /** Adapts the loaded encoder, e.g. puts it behind a dynamic batcher (src/encoder/batched.ts). */
  wrapEncoder?: (e: Encoder) => Encoder;
  /** Puts the decoder behind a batcher, so that concurrent captions share decoder steps (src/caption/batched.ts). */
  batchDecoder?: BatcherOptions;
  /** Loads the encoder in place of the registry's (the server's encoder thread, src/encoder/thread.ts). */
  loadEncoder?: (name: string, modelsDir: string) => Promise<Encoder>;
}

/** Image bytes → captions and objects: sharp decoding, the CNN encoder and detector in one pass, the decoder. */
export class CaptionService {
  private constructor(
    readonly encoder: Encoder,
    readonly model: Captioner,
    /** The decoder, alone or behind a dynamic batcher (src/caption/batched.ts). */
    private readonly decode: Decode,
  ) {}

  /** Load the caption model in `modelsDir/caption` (plain or grounded) and the encoder it was trained with. */
  static async load(
    modelsDir: string,
    captionDir = path.join(modelsDir, 'caption'),
    opts: CaptionLoadOptions = {},
  ): Promise<CaptionService> {
    const runtime = opts.runtime ?? TFJS_RUNTIME;
    const model = await loadCaptioner(captionDir, undefined, runtime);
    // A reload must not leak the decoder when the encoder fails to load or does not fit it.
    let encoder: Encoder | undefined;
    try {
      encoder = await (opts.loadEncoder ? opts.loadEncoder(model.encoder, modelsDir) : loadEncoder(model.encoder, modelsDir, runtime));
      // A decoder reading regions checks their width itself; what it needs from the encoder is the regions.
      if (model.wantsRegions) {
        if (!encoder.encodeWithRegions)
          throw new Error(`caption model ${model.name} reads regions, which encoder ${encoder.name} does not give: use ${REGION_ENCODER}`);
      } else if (encoder.dim !== model.featureDim) {
        throw new Error(`encoder ${encoder.name} gives ${encoder.dim}-d features; the decoder expects ${model.featureDim}`);
      }
    } catch (err) {
      encoder?.dispose();
      model.dispose();
      throw err;
    }
    const decode = opts.batchDecoder ? batchDecoder(model, opts.batchDecoder) : decodeAlone(model);
    return new CaptionService(opts.wrapEncoder ? opts.wrapEncoder(encoder) : encoder, model, decode);
  }

  async caption(image: Buffer, opts: CaptionSearchOptions, limits?: ImageLimits): Promise<CaptionResult> {
    const { features, detections, regions, decodeMs, encodeMs } = await encodeImageWithDetections(
      this.encoder,
      image,
      limits,
      this.model.minScore,
      { regions: this.model.wantsRegions === true },
    );
    const t0 = performance.now();
    let captions: CaptionOut[];
    // With regions, these are the objects the regions describe (encodeWithRegions' first REGION_MAX_OBJECTS).
    const objects = detections?.objects ?? [];
    try {
      captions = await this.decode({ features: (await features.data()) as Float32Array, objects, ...(regions ? { regions } : {}) }, opts);
    } finally {
      features.dispose();
    }
    return {
      ...reportObjects(this.model.entries(objects), captions),
      model: { name: this.model.name, version: this.model.version },
      timings_ms: { decode_image: round(decodeMs), encode: round(encodeMs), generate: round(performance.now() - t0) },
    };
  }

  /**
   * Several images with the same options (bulk-job workers): for each, what
   * caption() gives or the error it throws. An encoder without a detector runs
   * the images as one [N, S, S, 3] batch; a detecting one (CenterNet) takes one
   * image per pass, so then the images go through caption() concurrently, as
   * concurrent requests would. A batch's decode and encode times are shared
   * equally among its images.
   */
  async captionMany(images: readonly Buffer[], opts: CaptionSearchOptions, limits?: ImageLimits): Promise<(CaptionResult | Error)[]> {
    if (this.encoder.encodeAndDetect || images.length < 2) {
      return Promise.all(images.map((image) => this.caption(image, opts, limits).catch(asError)));
    }
    const t0 = performance.now();
    const decoded = await Promise.all(images.map((image) => decodeToRgb(image, this.encoder.inputSize, limits).catch(asError)));
    const good = decoded.filter((d): d is RgbImage => !(d instanceof Error));
    if (good.length === 0) return decoded as Error[];
    const t1 = performance.now();
    const size = this.encoder.inputSize;
    const pixels = tf.tidy(() => tf.stack(good.map((rgb) => tf.tensor3d(rgb.data, [size, size, 3], 'float32'))) as tf.Tensor4D);
    let rows: Float32Array;
    try {
      rows = await encodeFeatures(this.encoder, pixels);
    } finally {
      pixels.dispose();
    }
    const t2 = performance.now();
    const share = { decode_image: round((t1 - t0) / good.length), encode: round((t2 - t1) / good.length) };
    const dim = this.encoder.dim;
    let row = 0;
    return decoded.map((d) => {
      if (d instanceof Error) return d;
      const features = rows.subarray(row * dim, (row + 1) * dim);
      row++;
      const t = performance.now();
      try {
        const captions = this.model.caption({ features, objects: [] }, opts);
        return {
          ...reportObjects(this.model.entries([]), captions),
          model: { name: this.model.name, version: this.model.version },
          timings_ms: { ...share, generate: round(performance.now() - t) },
        };
      } catch (err) {
        return asError(err);
      }
    });
  }

  dispose(): void {
    this.encoder.dispose();
    this.model.dispose();
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));
