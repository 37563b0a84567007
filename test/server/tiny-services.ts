import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CaptionConfig } from '../../src/caption/config.js';
import { CaptionModel } from '../../src/caption/model.js';
import { CaptionService, type CaptionLoadOptions } from '../../src/caption/service.js';
import type { BatcherOptions } from '../../src/batching/batcher.js';
import { CharModel } from '../../src/char/model.js';
import { CharService } from '../../src/char/service.js';
import { CharVocab } from '../../src/char/vocab.js';
import { SPECIALS } from '../../src/text/vocab.js';
import type { VqaConfig } from '../../src/vqa/config.js';
import { VqaModel } from '../../src/vqa/model.js';
import { VqaService } from '../../src/vqa/service.js';
import { tinyConfig as tinyCharConfig } from '../char/helpers.js';

/** Characters the tiny char model knows: a prime of anything else is refused. */
export const CHAR_VOCAB = CharVocab.build('abcdefghijklmnopqrstuvwxyz .\n');
export const VQA_ANSWERS = ['yes', 'no', 'dog', 'horse', 'red', 'two'];

export interface TinyServices {
  caption: CaptionService;
  vqa: VqaService;
  generate: CharService;
  dispose(): Promise<void>;
}

/** A tiny, untrained plain caption model on mobilenet_v2 (fast to load, for tests of the plumbing). */
export const TINY_CAPTION_CONFIG: CaptionConfig = {
  kind: 'caption-lstm',
  name: 'caption-tiny',
  version: '0',
  encoder: 'mobilenet_v2',
  featureDim: 1280, // mobilenet_v2's pooled features; CaptionService.load says so if that changes
  embedDim: 8,
  hiddenDim: 16,
  dropout: 0,
  maxWords: 8,
  minWordCount: 1,
  vocab: [...SPECIALS, 'a', 'dog', 'runs', 'on', 'the', 'grass', 'man', 'red'],
};

/**
 * Untrained small decoders on the shipped mobilenet_v2 encoder (one copy,
 * shared by captioning and VQA): every route is served and the image path is
 * real, while the decoders cost almost nothing. Tests of the HTTP layer only.
 */
export async function tinyServices(opts: CaptionLoadOptions & { vqaBatch?: BatcherOptions } = {}): Promise<TinyServices> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'captioner-tiny-'));
  const cm = CaptionModel.init(TINY_CAPTION_CONFIG, 3);
  await cm.save(path.join(dir, 'caption'));
  cm.dispose();
  const { vqaBatch, ...captionOpts } = opts;
  const caption = await CaptionService.load('models', path.join(dir, 'caption'), captionOpts);
  const vqaConfig: VqaConfig = {
    kind: 'vqa',
    arch: 'vis-lstm',
    name: 'vqa-tiny',
    version: '0',
    encoder: caption.encoder.name,
    featureDim: caption.encoder.dim,
    embedDim: 8,
    hiddenDim: 8,
    dropout: 0,
    maxQuestionWords: 12,
    minWordCount: 1,
    questionVocab: ['<pad>', '<start>', '<end>', '<unk>', 'what', 'is', 'the', 'man', 'riding', 'color'],
    answers: VQA_ANSWERS,
  };
  const vm = VqaModel.init(vqaConfig, 5);
  await vm.save(path.join(dir, 'vqa', vqaConfig.name));
  vm.dispose();
  const vqa = await VqaService.load(dir, { shared: [caption.encoder], ...(vqaBatch ? { batch: vqaBatch } : {}) });
  const generate = CharService.fromModel(
    CharModel.init(tinyCharConfig({ name: 'char-tiny', hiddenDim: 8, layers: 1 }, [...CHAR_VOCAB.chars].join('')), 1),
  );
  return {
    caption,
    vqa,
    generate,
    async dispose() {
      vqa.dispose(); // its models only: the encoder is the caption service's
      caption.dispose();
      generate.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Config for tests that are one client sending hundreds of requests on a busy
 * machine: per-client rate limiting and load shedding (tested in
 * protection.test.ts) would answer them with 429 / 503 instead of testing the routes.
 */
export const ONE_CLIENT = { RATE_LIMIT_MAX: '0', SHED_EVENT_LOOP_DELAY_MS: '0' } as const;
