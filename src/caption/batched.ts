import { Batcher, type BatcherOptions } from '../batching/batcher.js';
import type { CaptionOut, Captioner, ImageEvidence } from './captioner.js';
import type { CaptionSearchOptions } from './options.js';

interface DecodeIn {
  image: ImageEvidence;
  opts: CaptionSearchOptions;
}

/** Captions of one image, computed now or through a batch with other requests' images. */
export type Decode = (image: ImageEvidence, opts: CaptionSearchOptions) => Promise<CaptionOut[]>;

/** Each image decoded alone, as it comes. */
export function decodeAlone(model: Captioner): Decode {
  return async (image, opts) => model.caption(image, opts);
}

/**
 * The captioner's decoder behind a dynamic batcher: concurrent requests'
 * searches run in lockstep (Captioner.captionMany), so each decoder step is one
 * batch over all their rows. A request's own error (its search threw) rejects
 * only that request. Captioners without captionMany decode each image alone.
 */
export function batchDecoder(model: Captioner, opts: BatcherOptions): Decode {
  const many = model.captionMany?.bind(model);
  if (!many) return decodeAlone(model);
  const batcher = new Batcher<DecodeIn, CaptionOut[] | Error>((items) => Promise.resolve(many(items)), opts);
  return async (image, o) => {
    const out = await batcher.submit({ image, opts: o });
    if (out instanceof Error) throw out;
    return out;
  };
}
