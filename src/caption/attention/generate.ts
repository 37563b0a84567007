import type { SelectedRegions } from '../../encoder/regions.js';
import { greedySearch, type StackableStepModel } from '../../search/index.js';
import type { Vocab } from '../../text/vocab.js';
import { TOKENS } from '../generate.js';
import { padRegions } from './data.js';
import { attentionStepModel, type AttentionNet, type AttentionState } from './step-model.js';

/** A decoder ready to caption: its net (tfjs or onnxruntime), vocabulary and shapes. */
export interface AttentionDecoder {
  net: AttentionNet;
  vocab: Vocab;
  regionDim: number;
  /** Every row is padded to this many regions, so rows of different images stack. */
  maxRegions: number;
  lm: StackableStepModel<AttentionState>;
}

export function attentionDecoder(net: AttentionNet, vocab: Vocab, regionDim: number, maxRegions: number): AttentionDecoder {
  return { net, vocab, regionDim, maxRegions, lm: attentionStepModel(net, vocab.size) };
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
