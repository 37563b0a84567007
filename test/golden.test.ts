import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCaptioner } from '../src/caption/captioner.js';
import { CaptionModel } from '../src/caption/model.js';
import { DEFAULT_CAPTION_SEARCH, type CaptionSearchOptions } from '../src/caption/options.js';
import { CharModel } from '../src/char/model.js';
import { CharService } from '../src/char/service.js';
import { defaultWordTable } from '../src/grounding/words.js';
import { initBackend } from '../src/nn/backend.js';
import type { DecoderRuntime } from '../src/onnx/runtime.js';
import { onnxVqa } from '../src/vqa/onnx.js';
import { loadConfig } from '../src/app/config.js';
import { disposeServices, loadServices } from '../src/app/services.js';
import type { VqaConfig } from '../src/vqa/config.js';
import { VqaModel } from '../src/vqa/model.js';
import { tinyConfig as tinyCharConfig } from './char/helpers.js';
import { TINY_CAPTION_CONFIG } from './server/tiny-services.js';

// What every model says, recorded once (GOLDEN_UPDATE=1) and compared on every run, on both runtimes:
// the shipped models end to end (default and beam-5 captions with their objects and word links, /vqa's
// top 5 from each VQA model, seeded /generate text), and small seeded models of the variants not shipped
// (the plain caption decoder, the four VQA architectures, char RNN and embedded LSTM). A refactor of the
// models' maths must leave every string as it was and every number within MAX_ABS_DIFF.
//
// MAX_ABS_DIFF: the same maths on the same runtime, with its operations regrouped, moves float32
// results by a few ulps (about 1e-6 on log-probabilities near -10); 1e-4 leaves room for that and
// still catches a changed formula (two swapped LSTM gates move log-probabilities by about 10).
const MAX_ABS_DIFF = 1e-4;
const FILE = path.join(import.meta.dirname, 'fixtures', 'golden.json');
const PHOTOS = ['horses', 'bus', 'pizza', 'skateboarder', 'zebra'];
const QUESTIONS = ['what animal is in the picture?', 'how many people are there?', 'what color is the bus?'];
const SEARCHES: Record<string, CaptionSearchOptions> = {
  default: DEFAULT_CAPTION_SEARCH,
  beam5: { ...DEFAULT_CAPTION_SEARCH, mode: 'beam', beamSize: 5, n: 3 },
};
const RUNTIMES: Record<string, DecoderRuntime> = { tfjs: { runtime: 'tfjs' }, onnx: { runtime: 'onnx', device: 'cpu' } };

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A seeded [n, d] array in [-2, 2) (an LCG: the same numbers everywhere). */
function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 4 - 2;
  });
}

/** The shipped models as the server loads them (encoder on the main thread, no batching), on `rt`. */
async function shipped(rt: DecoderRuntime): Promise<Json> {
  const set = await loadServices(loadConfig({ ENCODER_THREAD: 'off', BATCH_MAX_SIZE: '1' }), rt);
  try {
    const out: Record<string, Json> = {};
    for (const photo of PHOTOS) {
      const image = await readFile(path.join(import.meta.dirname, 'fixtures', 'photos', `${photo}.jpg`));
      const captions: Record<string, Json> = {};
      for (const [name, search] of Object.entries(SEARCHES)) {
        const r = await set.caption!.caption(image, search);
        captions[name] = JSON.parse(JSON.stringify({ captions: r.captions, objects: r.objects })) as Json;
      }
      const vqa: Record<string, Json> = {};
      for (const model of set.vqa!.modelNames)
        for (const q of QUESTIONS) vqa[`${model}: ${q}`] = (await set.vqa!.answer(image, q, { topK: 5, model })).answers;
      out[photo] = { captions, vqa };
    }
    const texts: Json[] = [];
    for (const [prime, seed, temperature] of [
      ['ROMEO:', 7, 0.8],
      ['', 3, 0],
    ] as const)
      texts.push((await set.generate!.generate({ prime, length: 120, temperature, topK: 0, seed })).text);
    out.generate = texts;
    return out;
  } finally {
    disposeServices(set);
  }
}

/** Small seeded models of every variant, on `rt`. */
async function tiny(rt: DecoderRuntime, dir: string): Promise<Json> {
  const out: Record<string, Json> = {};
  // The plain caption decoder, on seeded image vectors.
  const cm = CaptionModel.init(TINY_CAPTION_CONFIG, 3);
  await cm.save(path.join(dir, 'caption'));
  cm.dispose();
  const captioner = await loadCaptioner(path.join(dir, 'caption'), defaultWordTable(), rt);
  try {
    out.plain = [1, 2, 3].map((seed) => {
      const image = { features: seeded(TINY_CAPTION_CONFIG.featureDim, seed), objects: [] };
      return Object.fromEntries(Object.entries(SEARCHES).map(([k, s]) => [k, captioner.caption(image, s) as unknown as Json]));
    });
  } finally {
    captioner.dispose();
  }
  // The four VQA architectures: probabilities of seeded questions of several lengths.
  const vqa: Record<string, Json> = {};
  for (const arch of ['vis-lstm', '2vis-blstm', 'img-bow', 'blind-lstm'] as const) {
    const config: VqaConfig = {
      kind: 'vqa',
      arch,
      name: `vqa-${arch}`,
      version: '0',
      encoder: 'mobilenet_v2',
      featureDim: 12,
      embedDim: 6,
      hiddenDim: 5,
      dropout: 0,
      maxQuestionWords: 6,
      minWordCount: 1,
      questionVocab: ['<pad>', '<start>', '<end>', '<unk>', 'what', 'is', 'the', 'man', 'riding', 'color'],
      answers: ['yes', 'no', 'dog', 'horse'],
      featureMean: Array.from(seeded(12, 9)),
      featureStd: Array.from(seeded(12, 10), (v) => 1 + Math.abs(v)),
    };
    const model = VqaModel.init(config, 5);
    await model.save(path.join(dir, 'vqa', arch));
    model.dispose();
    const questions = [[4, 5, 6, 7], [4, 9, 5, 6, 7, 8], [7]];
    const features = seeded(questions.length * 12, 11);
    const loaded = await VqaModel.load(path.join(dir, 'vqa', arch));
    try {
      vqa[arch] = Array.from(vqaProbs(loaded, rt, features, questions));
    } finally {
      loaded.dispose();
    }
  }
  out.vqa = vqa;
  // Char models: a vanilla RNN on one-hot input and an LSTM with an embedding.
  const chars: Record<string, Json> = {};
  for (const [name, over] of [
    ['rnn-onehot', { cell: 'rnn', embedDim: 0, layers: 2 }],
    ['lstm-embedded', { cell: 'lstm', embedDim: 5, layers: 2 }],
  ] as const) {
    const service = CharService.fromModel(CharModel.init(tinyCharConfig(over), 4), rt);
    try {
      chars[name] = (await service.generate({ prime: 'the ', length: 60, temperature: 0.9, topK: 0, seed: 5 })).text;
    } finally {
      service.dispose();
    }
  }
  out.char = chars;
  return out;
}

/** A VQA model's answer probabilities [n, A] for features [n, D] and encoded questions, on `rt`. */
function vqaProbs(model: VqaModel, rt: DecoderRuntime, features: Float32Array, questions: number[][]): Float32Array {
  if (rt.runtime === 'onnx') {
    const net = onnxVqa(model, rt.device);
    try {
      return net.predict(features, questions);
    } finally {
      net.dispose();
    }
  }
  return tf.tidy(
    () => model.predict(tf.tensor2d(features, [questions.length, model.config.featureDim]), questions).dataSync() as Float32Array,
  );
}

/** Where `got` differs from `want`: strings and shapes exactly, numbers within MAX_ABS_DIFF. */
function differences(got: Json, want: Json, at = '$', out: string[] = []): string[] {
  if (out.length >= 10) return out;
  if (typeof want === 'number' && typeof got === 'number') {
    if (!(Math.abs(got - want) <= MAX_ABS_DIFF)) out.push(`${at}: ${got} != ${want}`);
  } else if (Array.isArray(want) && Array.isArray(got)) {
    if (got.length !== want.length) out.push(`${at}: length ${got.length} != ${want.length}`);
    else want.forEach((w, i) => differences(got[i]!, w, `${at}[${i}]`, out));
  } else if (want && got && typeof want === 'object' && typeof got === 'object' && !Array.isArray(want) && !Array.isArray(got)) {
    const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])];
    for (const k of keys) {
      if (!(k in got) || !(k in want)) out.push(`${at}.${k}: ${k in got ? 'unexpected' : 'missing'}`);
      else differences(got[k]!, want[k]!, `${at}.${k}`, out);
    }
  } else if (got !== want) out.push(`${at}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
  return out;
}

let dir = '';
const now: Record<string, Json> = {};
beforeAll(async () => {
  await initBackend();
  dir = await mkdtemp(path.join(os.tmpdir(), 'captioner-golden-'));
  for (const [name, rt] of Object.entries(RUNTIMES)) now[name] = { shipped: await shipped(rt), tiny: await tiny(rt, dir) };
  if (process.env.GOLDEN_UPDATE === '1') writeFileSync(FILE, `${JSON.stringify(now, null, 1)}\n`);
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('behaviour against the recorded golden outputs (test/fixtures/golden.json)', () => {
  const recorded = existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, Json>) : {};
  it.each(Object.keys(RUNTIMES))('%s: every caption, object, word link, answer and generated text as recorded', (name) => {
    expect(recorded[name], `no golden record for ${name}: run GOLDEN_UPDATE=1 npx vitest run test/golden.test.ts`).toBeDefined();
    expect(differences(now[name]!, recorded[name]!)).toEqual([]);
  });

  it('the comparison fails on a changed word or a moved number', () => {
    expect(differences({ a: ['x', 1] }, { a: ['x', 1 + MAX_ABS_DIFF / 2] })).toEqual([]);
    expect(differences({ a: ['y', 1] }, { a: ['x', 1] })).toHaveLength(1);
    expect(differences({ a: ['x', 1.01] }, { a: ['x', 1] })).toHaveLength(1);
    expect(differences({ a: ['x'] }, { a: ['x', 1] })).toHaveLength(1);
  });
});
