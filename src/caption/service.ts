import path from 'node:path';
import { loadEncoder } from '../encoder/registry.js';
import type { Encoder } from '../encoder/types.js';
import { encodeImage } from '../encoder/pixels.js';
import type { ImageLimits } from '../image/decode.js';
import { generateCaptions, type Caption } from './generate.js';
import { CaptionModel } from './model.js';
import type { CaptionSearchOptions } from './options.js';

export interface CaptionResult {
  captions: Caption[];
  model: { name: string; version: string };
  timings_ms: { decode_image: number; encode: number; generate: number };
}

/** Image bytes → captions: sharp decoding, the CNN encoder, the LSTM decoder. */
export class CaptionService {
  private constructor(
    readonly encoder: Encoder,
    readonly model: CaptionModel,
  ) {}

  /** Load the decoder in `modelsDir/caption` and the encoder it was trained with. */
  static async load(modelsDir: string, captionDir = path.join(modelsDir, 'caption')): Promise<CaptionService> {
    const model = await CaptionModel.load(captionDir);
    // A reload must not leak the decoder when the encoder fails to load or does not fit it.
    let encoder: Awaited<ReturnType<typeof loadEncoder>> | undefined;
    try {
      encoder = await loadEncoder(model.config.encoder, modelsDir);
      if (encoder.dim !== model.config.featureDim) {
        throw new Error(`encoder ${encoder.name} gives ${encoder.dim}-d features; the decoder expects ${model.config.featureDim}`);
      }
    } catch (err) {
      encoder?.dispose();
      model.dispose();
      throw err;
    }
    return new CaptionService(encoder, model);
  }

  async caption(image: Buffer, opts: CaptionSearchOptions, limits?: ImageLimits): Promise<CaptionResult> {
    const { features, decodeMs, encodeMs } = await encodeImage(this.encoder, image, limits);
    const t0 = performance.now();
    let captions: Caption[];
    try {
      captions = generateCaptions(this.model, features, opts);
    } finally {
      features.dispose();
    }
    return {
      captions,
      model: { name: this.model.config.name, version: this.model.config.version },
      timings_ms: { decode_image: round(decodeMs), encode: round(encodeMs), generate: round(performance.now() - t0) },
    };
  }

  dispose(): void {
    this.encoder.dispose();
    this.model.dispose();
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
