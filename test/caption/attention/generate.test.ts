import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttentionConfig } from '../../../src/caption/attention/config.js';
import {
  attentionDecoder,
  attentionRules,
  generateAttention,
  generateAttentionMany,
  modelSlotRules,
  type AttentionDecoder,
} from '../../../src/caption/attention/generate.js';
import { SLOT, SLOTS } from '../../../src/caption/grounded/slots.js';
import { AttentionModel } from '../../../src/caption/attention/model.js';
import { onnxAttentionNet } from '../../../src/caption/attention/onnx.js';
import { tfjsAttentionNet, type AttentionNet } from '../../../src/caption/attention/step-model.js';
import { attentionCaptionOut, loadCaptioner, type Captioner, type ImageEvidence } from '../../../src/caption/captioner.js';
import { padRegions } from '../../../src/data/regions.js';
import { regionLinks } from '../../../src/caption/attention/links.js';
import { DEFAULT_CAPTION_SEARCH, type CaptionSearchOptions } from '../../../src/caption/options.js';
import { CaptionService } from '../../../src/caption/service.js';
import { regionDescriptors, regionDim, selectRegions, type SelectedRegions } from '../../../src/encoder/regions.js';
import type { DetectedObject, Encoder } from '../../../src/encoder/types.js';
import { objectEntries } from '../../../src/grounding/entries.js';
import { objectMentions } from '../../../src/grounding/chair.js';
import { defaultWordTable } from '../../../src/grounding/words.js';
import { initBackend } from '../../../src/nn/backend.js';
import { SPECIALS, START_ID } from '../../../src/text/vocab.js';
import { rng } from '../../../src/util/random.js';
import { detection, GREY_IMAGE } from './fake-net.js';

/** Channels of the fake feature grid: a region descriptor is C + 7 geometry + 80 class scores wide. */
const C = 4;
const R = regionDim(C);
const MAX_REGIONS = 4;
const table = defaultWordTable();

function config(): AttentionConfig {
  return {
    kind: 'caption-attention',
    name: 'tiny-attention',
    version: 't',
    encoder: 'mobilenet_v2+centernet',
    regionDim: R,
    embedDim: 8,
    hiddenDim: 16,
    attendDim: 8,
    dropout: 0,
    maxWords: 8,
    maxRegions: MAX_REGIONS,
    regionMinScore: 0.2,
    vocab: [...SPECIALS, 'a', 'dog', 'runs', 'cat', 'sleeps', 'man', 'on', 'grass', 'dogs'],
  };
}

/** What the encoder gives for an image: its detections and their region descriptors over a random 3×3 grid. */
function evidence(objects: DetectedObject[], seed: number): ImageEvidence {
  const random = rng(seed);
  const grid = Float32Array.from({ length: 3 * 3 * C }, () => random());
  return { features: new Float32Array(0), objects, regions: regionDescriptors(grid, 3, 3, C, objects, GREY_IMAGE) };
}

const kept = (e: ImageEvidence): SelectedRegions => selectRegions(e.regions!, e.objects, MAX_REGIONS, 0.2);

const IMAGES = [
  evidence([detection('dog', 0.9), detection('dog', 0.5), detection('person', 0.4)], 1),
  evidence([detection('cat', 0.7), detection('dog', 0.1)], 2),
  evidence([], 3),
  evidence(
    ['person', 'dog', 'cat', 'dog', 'person', 'cat'].map((l, i) => detection(l as 'dog', 0.9 - i * 0.1)),
    4,
  ),
];

const MODES: CaptionSearchOptions[] = [
  { ...DEFAULT_CAPTION_SEARCH },
  { ...DEFAULT_CAPTION_SEARCH, mode: 'greedy' },
  { ...DEFAULT_CAPTION_SEARCH, beamSize: 5, n: 3, lengthPenalty: 0.5 },
  { ...DEFAULT_CAPTION_SEARCH, mode: 'sample', n: 2, seed: 9, temperature: 1.5 },
];

let model: AttentionModel;
let ort: AttentionNet;

beforeAll(async () => {
  await initBackend();
  model = AttentionModel.init(config(), 11);
  ort = onnxAttentionNet(model);
});

afterAll(() => {
  ort?.dispose();
  model?.dispose();
});

/** A decoder over `net` whose steps are counted. */
function counted(net: AttentionNet): { decoder: AttentionDecoder; steps: () => number; reset: () => void } {
  let steps = 0;
  const wrapped: AttentionNet = { ...net, step: (rows, ids) => (steps++, net.step(rows, ids)) };
  return { decoder: attentionDecoder(wrapped, model.vocab, R, MAX_REGIONS), steps: () => steps, reset: () => (steps = 0) };
}

describe('attention captions on the tiny model (tfjs and onnxruntime)', () => {
  const rules = () => attentionRules(table, model.vocab, 0.2);
  const items = () => IMAGES.flatMap((e) => MODES.map((opts) => ({ image: kept(e), opts })));

  for (const runtime of ['tfjs', 'onnx'] as const) {
    it(`${runtime}: a lockstep batch of images equals each image decoded alone, in fewer decoder steps`, () => {
      const net = runtime === 'onnx' ? ort : tfjsAttentionNet(model);
      const { decoder, steps, reset } = counted(net);
      const all = items();
      const before = tf.memory().numTensors;
      const alone = all.map((it) => generateAttention(decoder, rules(), it.image, it.opts));
      const aloneSteps = steps();
      reset();
      const together = generateAttentionMany(decoder, rules(), all);
      expect(together).toEqual(alone);
      expect(steps()).toBeLessThan(aloneSteps / 4);
      expect(tf.memory().numTensors).toBe(before);
      for (const captions of alone) {
        for (const c of captions) {
          expect(c.words.map((w) => w.text).join(' ')).toBe(c.text);
          for (const w of c.words) expect(w.beta).toBeGreaterThan(0);
        }
      }
    });
  }

  it('onnxruntime writes the captions tfjs writes, with the same links and β', () => {
    const tfjs = attentionDecoder(tfjsAttentionNet(model), model.vocab, R, MAX_REGIONS);
    const onnx = attentionDecoder(ort, model.vocab, R, MAX_REGIONS);
    for (const it of items()) {
      const a = generateAttention(tfjs, rules(), it.image, it.opts);
      const b = generateAttention(onnx, rules(), it.image, it.opts);
      expect(b.map((c) => c.text)).toEqual(a.map((c) => c.text));
      b.forEach((c, i) => {
        expect(c.logprob).toBeCloseTo(a[i]!.logprob, 3);
        expect(c.words.map((w) => w.region)).toEqual(a[i]!.words.map((w) => w.region));
        c.words.forEach((w, j) => expect(w.beta).toBeCloseTo(a[i]!.words[j]!.beta, 4));
      });
    }
  });

  it("each word's α and β are the teacher-forced decoder's at the step that wrote it, for every caption of every search", () => {
    const net = tfjsAttentionNet(model);
    const decoder = attentionDecoder(net, model.vocab, R, MAX_REGIONS);
    const k = MAX_REGIONS + 1;
    let checked = 0;
    for (const e of [IMAGES[0]!, IMAGES[3]!]) {
      const image = kept(e);
      const { regions, mask } = padRegions([image], R, k);
      for (const opts of MODES) {
        for (const c of generateAttention(decoder, rules(), image, opts)) {
          let rows = net.initial(regions, mask, 1, k);
          let prev = START_ID;
          const alpha: Float32Array[] = [];
          c.words.forEach((w) => {
            const out = net.step(rows, Int32Array.of(prev));
            expect(w.beta).toBeCloseTo(out.beta[0]!, 5);
            alpha.push(out.alpha);
            rows = out.rows;
            prev = model.vocab.id(w.text);
            checked++;
          });
          // The links are what the teacher-forced attention gives.
          const tokens = c.words.map((w) => w.text);
          expect(c.words.map((w) => w.region)).toEqual(regionLinks(table, tokens, alpha, image.objects));
        }
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('the tiny model names detected classes only, and links a named class word to a region of that class', () => {
    const decoder = attentionDecoder(tfjsAttentionNet(model), model.vocab, R, MAX_REGIONS);
    const hot = Array.from({ length: 15 }, (_, seed) => ({
      ...DEFAULT_CAPTION_SEARCH,
      mode: 'sample' as const,
      n: 3,
      temperature: 3,
      seed,
    }));
    let links = 0;
    for (const e of IMAGES) {
      const image = kept(e);
      const present = new Set(image.objects.map((o) => o.label));
      for (const opts of hot) {
        for (const c of generateAttention(decoder, rules(), image, opts)) {
          for (const label of objectMentions(table, c.text)) expect(present).toContain(label);
          for (const w of c.words) {
            if (w.region === undefined) continue;
            links++;
            expect(objectMentions(table, w.text)).toEqual([image.objects[w.region]!.label]);
          }
        }
      }
    }
    expect(links).toBeGreaterThan(0);
  });
});

describe('the attention captioner', () => {
  let dir: string;
  let captioners: Captioner[];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'attention-captioner-'));
    await model.save(dir);
    captioners = [await loadCaptioner(dir), await loadCaptioner(dir, table, { runtime: 'onnx' })];
  });

  afterAll(async () => {
    captioners?.forEach((c) => c.dispose());
    await rm(dir, { recursive: true, force: true });
  });

  it('loads as caption-attention on either runtime, wanting regions', () => {
    expect(captioners.map((c) => [c.kind, c.runtime, c.wantsRegions, c.featureDim, c.minScore])).toEqual([
      ['caption-attention', 'tfjs', true, 0, 0.2],
      ['caption-attention', 'onnx', true, 0, 0.2],
    ]);
  });

  it('refuses evidence without regions in one line, and captionMany fails only that image', () => {
    const bare: ImageEvidence = { features: new Float32Array(0), objects: [] };
    for (const c of captioners) {
      expect(() => c.caption(bare, DEFAULT_CAPTION_SEARCH)).toThrow(/needs the encoder's regions/);
      const out = c.captionMany!([
        { image: IMAGES[0]!, opts: DEFAULT_CAPTION_SEARCH },
        { image: bare, opts: DEFAULT_CAPTION_SEARCH },
      ]);
      expect(out[1]).toBeInstanceOf(Error);
      expect((out[1] as Error).message).not.toContain('\n');
      expect(out[0]).toEqual(c.caption(IMAGES[0]!, DEFAULT_CAPTION_SEARCH));
    }
  });

  it('captions in lockstep as alone, and points words at the entries of their region classes', () => {
    const [tfjs, onnx] = captioners as [Captioner, Captioner];
    const batch = IMAGES.map((image, i) => ({ image, opts: MODES[i % MODES.length]! }));
    const before = tf.memory().numTensors;
    const alone = batch.map((b) => tfjs.caption(b.image, b.opts));
    expect(tfjs.captionMany!(batch)).toEqual(alone);
    expect(onnx.captionMany!(batch).map((r) => (r as { text: string }[]).map((c) => c.text))).toEqual(
      alone.map((r) => r.map((c) => c.text)),
    );
    expect(tf.memory().numTensors).toBe(before);
    for (const [i, b] of batch.entries()) {
      const entries = tfjs.entries(b.image.objects);
      for (const c of alone[i]!) {
        for (const w of c.words) if (w.entry !== undefined) expect(objectMentions(table, w.text)).toEqual([entries[w.entry]!.label]);
      }
    }
  });

  it("serves /caption's reply through CaptionService: words point at the reported object of their region's class", async () => {
    const e = IMAGES[0]!; // dogs at 0.9 and 0.5, a person at 0.4
    const encoder: Encoder = {
      name: 'fake-regions',
      dim: 1,
      inputSize: 4,
      encode: () => tf.zeros([1, 1]),
      encodeWithRegions: () => Promise.resolve({ features: Float32Array.of(0), objects: e.objects.slice(), regions: e.regions! }),
      dispose: () => undefined,
    };
    const service = await CaptionService.load('models', dir, { loadEncoder: () => Promise.resolve(encoder) });
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 10, g: 20, b: 30 } } })
      .png()
      .toBuffer();
    try {
      let linked = 0;
      for (let seed = 0; seed < 15; seed++) {
        const reply = await service.caption(png, { ...DEFAULT_CAPTION_SEARCH, mode: 'sample', n: 3, temperature: 3, seed });
        expect(reply.objects.map((o) => [o.label, o.count])).toEqual([
          ['dog', 2],
          ['person', 1],
        ]);
        for (const c of reply.captions) {
          for (const w of c.words) {
            expect(Object.keys(w).sort()).toEqual(w.object === undefined ? ['text'] : ['object', 'text']);
            if (w.object === undefined) continue;
            linked++;
            expect(objectMentions(table, w.text)).toEqual([reply.objects[w.object]!.label]);
          }
        }
      }
      expect(linked).toBeGreaterThan(0);
    } finally {
      service.dispose();
    }
  });

  it("maps a word's region to the entry of that region's class", () => {
    const objects = [detection('dog', 0.9), detection('person', 0.6), detection('dog', 0.5)];
    const regions = kept(evidence(objects, 5));
    const entries = objectEntries(objects, MAX_REGIONS, 0.2);
    const out = attentionCaptionOut(
      [
        {
          text: 'a man and dogs',
          logprob: -3,
          words: [
            { text: 'a', beta: 0.9 },
            { text: 'man', region: 1, beta: 0.2 },
            { text: 'and', beta: 0.8 },
            { text: 'dogs', region: 2, beta: 0.1 },
          ],
        },
      ],
      regions,
      entries,
    );
    expect(entries.map((e) => e.label)).toEqual(['dog', 'person']);
    expect(out[0]!.words).toEqual([
      { text: 'a', beta: 0.9 },
      { text: 'man', entry: 1, beta: 0.2 },
      { text: 'and', beta: 0.8 },
      { text: 'dogs', entry: 0, beta: 0.1 },
    ]);
  });

  it('the rule can be turned off or moved at load: off, unsupported classes appear in samples', async () => {
    const free = await loadCaptioner(dir, table, undefined, { supportRule: false });
    const strict = await loadCaptioner(dir, table, undefined, { supportMinScore: 0.95 });
    try {
      const image = IMAGES[0]!; // dogs at 0.9 and 0.5, a person at 0.4
      const samples = (c: Captioner) =>
        Array.from({ length: 15 }, (_, seed) =>
          c.caption(image, { ...DEFAULT_CAPTION_SEARCH, mode: 'sample', n: 3, temperature: 3, seed }),
        ).flat();
      const named = (c: Captioner) => new Set(samples(c).flatMap((s) => objectMentions(table, s.text)));
      expect(named(free).has('cat')).toBe(true);
      expect([...named(captioners[0]!)].every((l) => l === 'dog' || l === 'person')).toBe(true);
      expect(named(strict).size).toBe(0);
      // Under the regions' threshold, the encoder is asked for the weaker detections too.
      expect([free.minScore, strict.minScore]).toEqual([0.2, 0.2]);
      const low = await loadCaptioner(dir, table, undefined, { supportMinScore: 0.1 });
      expect(low.minScore).toBe(0.1);
      low.dispose();
    } finally {
      free.dispose();
      strict.dispose();
    }
  });
});

describe('a slots model (the pointer is the attention): tfjs and onnxruntime', () => {
  let slotted: AttentionModel;
  let slottedOrt: AttentionNet;
  const slotsConfig = (): AttentionConfig => ({
    ...config(),
    name: 'tiny-slots',
    slots: true,
    vocab: [...SPECIALS, SLOT, SLOTS, 'a', 'dog', 'runs', 'cat', 'sleeps', 'man', 'on', 'grass', 'dogs'],
  });
  const decoderOf = (net: AttentionNet) =>
    attentionDecoder(net, slotted.vocab, R, MAX_REGIONS, modelSlotRules(slotted.config, slotted.vocab, table));
  const rules = () => attentionRules(table, slotted.vocab);
  const items = () => IMAGES.flatMap((e) => MODES.map((opts) => ({ image: kept(e), opts })));

  beforeAll(() => {
    slotted = AttentionModel.init(slotsConfig(), 5);
    slottedOrt = onnxAttentionNet(slotted);
  });

  afterAll(() => {
    slottedOrt?.dispose();
    slotted?.dispose();
  });

  it('a lockstep batch equals each image decoded alone, and onnxruntime writes what tfjs writes', () => {
    const tfjs = decoderOf(tfjsAttentionNet(slotted));
    const before = tf.memory().numTensors;
    const alone = items().map((it) => generateAttention(tfjs, rules(), it.image, it.opts));
    expect(generateAttentionMany(tfjs, rules(), items())).toEqual(alone);
    expect(tf.memory().numTensors).toBe(before);
    const onnx = decoderOf(slottedOrt);
    const viaOrt = items().map((it) => generateAttention(onnx, rules(), it.image, it.opts));
    expect(viaOrt.map((cs) => cs.map((c) => [c.text, c.words.map((w) => w.region)]))).toEqual(
      alone.map((cs) => cs.map((c) => [c.text, c.words.map((w) => w.region)])),
    );
  });

  it("names only kept regions' classes, each class word linked to the region of its class that filled its slot", () => {
    const decoder = decoderOf(tfjsAttentionNet(slotted));
    let links = 0;
    for (const e of IMAGES) {
      const image = kept(e);
      for (let seed = 0; seed < 15; seed++) {
        for (const c of generateAttention(decoder, rules(), image, {
          ...DEFAULT_CAPTION_SEARCH,
          mode: 'sample',
          n: 3,
          temperature: 3,
          seed,
        })) {
          const named = objectMentions(table, c.text);
          for (const label of named) expect(image.objects.map((o) => o.label)).toContain(label);
          for (const w of c.words) {
            if (w.region === undefined) continue;
            links++;
            expect(objectMentions(table, w.text)).toEqual([image.objects[w.region]!.label]);
          }
          expect(c.words.filter((w) => w.region !== undefined).length).toBe(named.length);
        }
      }
    }
    expect(links).toBeGreaterThan(10);
  });
});
