import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AttentionConfig } from '../../../src/caption/attention/config.js';
import { slotTensors, slottedExample } from '../../../src/caption/attention/data.js';
import { attentionDecoder, attentionRules, generateAttention, modelSlotRules } from '../../../src/caption/attention/generate.js';
import { AttentionModel } from '../../../src/caption/attention/model.js';
import {
  decodeSlotToken,
  slotRegion,
  slotRules,
  slotTokenId,
  slotTokens,
  slotVocabSize,
} from '../../../src/caption/attention/slot-tokens.js';
import { regionTensors } from '../../../src/data/regions.js';
import { DEFAULT_CAPTION_SEARCH, type CaptionSearchOptions } from '../../../src/caption/options.js';
import { fineCandidates } from '../../../src/caption/grounded/data.js';
import { SLOT, SLOT_ID, SLOTS, SLOTS_ID } from '../../../src/caption/grounded/slots.js';
import { COCO_LABELS } from '../../../src/encoder/types.js';
import { objectMentions } from '../../../src/grounding/chair.js';
import { defaultWordTable } from '../../../src/grounding/words.js';
import { initBackend } from '../../../src/nn/backend.js';
import { END_ID, SPECIALS, START_ID, Vocab } from '../../../src/text/vocab.js';
import { detection, FAKE_R, fakeNet, fakeRegions } from './fake-net.js';

const table = defaultWordTable();
const VOCAB = new Vocab([...SPECIALS, SLOT, SLOTS, 'a', 'dog', 'runs', 'cat', 'cats', 'man', 'hot']);
const V = VOCAB.size;
const id = (w: string) => VOCAB.id(w);
const cls = (label: (typeof COCO_LABELS)[number]) => COCO_LABELS.indexOf(label);
const candidates = fineCandidates(table, VOCAB);

describe('slot tokens (pure)', () => {
  const lp = new Float32Array(V).fill(-5);
  lp[SLOT_ID] = -1;
  lp[SLOTS_ID] = -2;
  lp[id('cat')] = -3;
  lp[id('cats')] = -4;
  lp[id('man')] = -2.5;
  const rules = slotRules(candidates);
  const token = (label: (typeof COCO_LABELS)[number], plural: boolean, word: string | undefined) => {
    const words = candidates[cls(label)]![plural ? 'plural' : 'singular'];
    return slotTokenId(V, rules, cls(label), plural, word === undefined ? 0 : words.indexOf(id(word)));
  };

  it('points by the attention share of each open class among the detected regions, with its best word', () => {
    // Regions: a dog, a cat, a second dog, then the whole image (never pointed at).
    const alpha = Float32Array.from([0.1, 0.3, 0.1, 0.5]);
    const out = slotTokens(lp, alpha, [cls('dog'), cls('cat'), cls('dog')], [], rules);
    expect(out).toHaveLength(slotVocabSize(V, rules));
    expect(out[token('dog', false, 'dog')]).toBeCloseTo(-1 + Math.log(0.4), 5);
    expect(out[token('cat', true, 'cats')]).toBeCloseTo(-2 + Math.log(0.6), 5);
    expect(out[token('dog', true, undefined)]).toBeCloseTo(-2 + Math.log(0.4), 5); // "dogs" is not in the vocabulary
    expect(out[SLOT_ID]).toBe(-Infinity);
    expect(out[SLOTS_ID]).toBe(-Infinity);
    expect(out.filter((v) => v > -Infinity)).toHaveLength(V - 2 + 4);
    expect(decodeSlotToken(token('cat', true, 'cats'), V, rules)).toEqual({ classId: cls('cat'), plural: true, word: id('cats') });
    expect(decodeSlotToken(token('dog', true, undefined), V, rules)).toEqual({ classId: cls('dog'), plural: true, word: -1 });
    expect(decodeSlotToken(id('runs'), V, rules)).toBeUndefined();
    expect(slotRegion(alpha, [cls('dog'), cls('cat'), cls('dog')], cls('dog'))).toBe(0);
  });

  it('picks the class word the output layer prefers', () => {
    const person = candidates[cls('person')]!.singular;
    expect(person).toContain(id('man'));
    const out = slotTokens(lp, Float32Array.from([1, 0]), [cls('person')], [], rules);
    expect(out[token('person', false, 'man')]).toBeCloseTo(-1, 5);
  });

  it('a class already named is closed, and a row without regions has no slot at all', () => {
    const alpha = Float32Array.from([0.1, 0.3, 0.5]);
    const out = slotTokens(lp, alpha, [cls('dog'), cls('cat')], [cls('cat')], rules);
    expect(out[token('dog', false, 'dog')]).toBeCloseTo(-1, 5);
    expect(out[token('cat', false, 'cat')]).toBe(-Infinity);
    const none = slotTokens(lp, Float32Array.from([0.5]), [], [], rules);
    expect([...none.subarray(V)].every((v) => v === -Infinity)).toBe(true);
  });
});

describe('a slots decoder in every search', () => {
  // The language model prefers the text word "dog" over a slot: with slots, class words are never text.
  const script: Record<string, number>[] = [{ a: 6 }, { dog: 7, [SLOT]: 6, cat: 2 }, { runs: 6 }];
  const modes: CaptionSearchOptions[] = [
    { ...DEFAULT_CAPTION_SEARCH, mode: 'greedy' },
    { ...DEFAULT_CAPTION_SEARCH, mode: 'beam', beamSize: 5, n: 5 },
    ...Array.from({ length: 8 }, (_, seed) => ({ ...DEFAULT_CAPTION_SEARCH, mode: 'sample' as const, n: 3, temperature: 3, seed })),
  ];
  const decoderOf = (net: ReturnType<typeof fakeNet>) =>
    attentionDecoder(net, VOCAB, FAKE_R, 4, modelSlotRules({ slots: true }, VOCAB, table));
  const rules = attentionRules(table, VOCAB);

  it('fills the slot with the region it points at, links the word to it, and reads the word back', () => {
    const net = fakeNet(script, VOCAB);
    const image = fakeRegions([
      { object: detection('dog', 0.3), attention: -3 },
      { object: detection('cat', 0.9), attention: 3 },
    ]);
    const [c] = generateAttention(decoderOf(net), rules, image, modes[0]!);
    expect(c!.text).toBe('a cat runs');
    expect(c!.words.map((w) => w.region)).toEqual([undefined, 1, undefined]);
    expect(net.fed.map((ids) => ids[0])).toEqual([START_ID, id('a'), id('cat'), id('runs')]);
  });

  it('never names a class that no kept region has, people included', () => {
    const named = (image: ReturnType<typeof fakeRegions>) =>
      new Set(
        modes
          .flatMap((opts) => generateAttention(decoderOf(fakeNet(script, VOCAB)), rules, image, opts))
          .flatMap((c) => objectMentions(table, c.text)),
      );
    expect([...named(fakeRegions([{ object: detection('cat', 0.9), attention: 1 }]))]).toEqual(['cat']);
    expect(named(fakeRegions([])).size).toBe(0);
  });
});

describe('slot training data and loss', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  const objects = [detection('cat', 0.9), detection('dog', 0.5)];

  it('a mention of a kept class becomes a slot; the decoder reads back the word', () => {
    const e = slottedExample(table, 0, ['a', 'dog', 'runs'], objects, VOCAB, 16);
    expect(e.ids).toEqual([START_ID, id('a'), SLOT_ID, id('runs'), END_ID]);
    expect(e.inputs).toEqual([START_ID, id('a'), id('dog'), id('runs'), END_ID]);
    expect(e.slots).toEqual([{ pos: 2, classId: cls('dog'), plural: false, fine: id('dog') }]);
    // A class no region has stays a word.
    expect(slottedExample(table, 0, ['a', 'man', 'runs'], objects, VOCAB, 16).slots).toEqual([]);
  });

  it('slot tensors: the predicting row, the class regions among the detected ones, the fine word', () => {
    const images = [{ rows: new Float32Array(3 * 2), objects }];
    const batch = [
      slottedExample(table, 0, ['a', 'runs'], objects, VOCAB, 16),
      slottedExample(table, 0, ['a', 'dog', 'runs'], objects, VOCAB, 16),
    ];
    const t = slotTensors(batch, images, 3, { candidates, vocabSize: V });
    expect(Array.from(t.slotRows.dataSync())).toEqual([(2 - 1) * 2 + 1]);
    expect(Array.from(t.classMask.dataSync())).toEqual([0, 1, 0]);
    expect(Array.from(t.objectMask.dataSync())).toEqual([1, 1, 0]);
    expect(Array.from(t.fineTargets.dataSync())).toEqual([id('dog')]);
    expect(t.fineMask.dataSync()[id('dog')]).toBe(1);
    expect(t.fineMask.dataSync()[id('cat')]).toBe(0);
    tf.dispose(Object.values(t));
  });

  it('the loss adds −log of the attention share on the class regions and the fine word cross-entropy', () => {
    const config: AttentionConfig = {
      kind: 'caption-attention',
      name: 'tiny-slots',
      version: 't',
      encoder: 'mobilenet_v2+centernet',
      regionDim: 4,
      embedDim: 8,
      hiddenDim: 8,
      attendDim: 4,
      dropout: 0,
      maxWords: 16,
      maxRegions: 4,
      regionMinScore: 0.2,
      slots: true,
      vocab: [...VOCAB.words],
    };
    const model = AttentionModel.init(config, 3);
    const rows = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i + 1));
    const images = [{ rows, objects }];
    const e = slottedExample(table, 0, ['a', 'dog', 'runs'], objects, VOCAB, 16);
    const { regions, regionMask } = regionTensors(images, 4);
    const tokens = tf.tensor2d([e.ids], [1, e.ids.length], 'int32');
    const mask = tf.ones([1, e.ids.length - 1]) as tf.Tensor2D;
    const slots = slotTensors([e], images, 3, { candidates, vocabSize: V });
    const before = tf.memory().numTensors;
    const loss = model.loss(regions, regionMask, tokens, mask, undefined, slots);
    const withSlots = loss.dataSync()[0]!;
    loss.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // By hand: step through the decoder reading the caption's inputs; at the slot's step (t = 1) read α and the logits.
    const memory = model.projectRegions(regions, regionMask);
    let state = model.initialState(regions, regionMask);
    let words = 0;
    let pointer = 0;
    let fine = 0;
    for (let t = 0; t < e.ids.length - 1; t++) {
      const out = model.step(state, tf.tensor1d([e.inputs![t]!], 'int32'), memory);
      const lp = out.logProbs.dataSync();
      words -= lp[e.ids[t + 1]!]!;
      if (t === 1) {
        const a = out.alpha.dataSync();
        pointer = -Math.log(a[1]! / (a[0]! + a[1]!));
        fine = -(lp[id('dog')]! - lp[id('dog')]!); // one candidate ("dog"): its softmax over the class words is 1
      }
      tf.dispose([state.h1, state.c1, state.h2, state.c2, out.logProbs, out.alpha, out.beta]);
      state = out.state;
    }
    expect(withSlots).toBeCloseTo((words + pointer + fine) / (e.ids.length - 1), 4);
    expect(pointer).toBeGreaterThan(0);
    tf.dispose([regions, regionMask, tokens, mask, memory.features, memory.keys, memory.mean, state.h1, state.c1, state.h2, state.c2]);
    tf.dispose(Object.values(slots));
    model.dispose();
  });
});
