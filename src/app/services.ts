import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BatcherOptions } from '../batching/batcher.js';
import { CaptionService, type CaptionLoadOptions } from '../caption/service.js';
import { CharService } from '../char/service.js';
import { batchEncoder } from '../encoder/batched.js';
import { loadThreadedEncoder } from '../encoder/thread.js';
import type { Encoder } from '../encoder/types.js';
import { log } from '../log.js';
import type { ModelRuntime } from '../onnx/runtime.js';
import { VqaService } from '../vqa/service.js';
import { batchOptions, encoderThread, type Config } from './config.js';

/** The services one generation of models serves with; a missing one turns its route off. */
export interface ServiceSet {
  caption?: CaptionService;
  vqa?: VqaService;
  generate?: CharService;
}

export type Task = keyof ServiceSet;

/**
 * The caption service with dynamic batching (unless BATCH_MAX_SIZE is 1): its
 * encoder behind one batcher, its decoder behind another; the encoder in a
 * worker thread when ENCODER_THREAD says so. The decoder's batch
 * does not wait: the requests one encoder batch resolves reach it in the same
 * event-loop turn. Bulk-job workers load it the same way. Encoder and decoder run on `runtime`.
 */
export function loadCaptionService(config: Config, runtime: ModelRuntime): Promise<CaptionService> {
  return CaptionService.load(config.MODELS_DIR, undefined, {
    runtime,
    ...captionBatching(config),
    ...(encoderThread(config, runtime.runtime)
      ? { loadEncoder: (name: string, dir: string) => loadThreadedEncoder(name, dir, { runtime }) }
      : {}),
  });
}

/** CaptionService.load's batching options for `config` (none when BATCH_MAX_SIZE is 1). */
export function captionBatching(config: Config): CaptionLoadOptions {
  const batching = batchOptions(config);
  const decoder = decoderBatching(config);
  if (!batching || !decoder) return {};
  return { wrapEncoder: (e: Encoder) => batchEncoder(e, batching), batchDecoder: decoder };
}

/**
 * The decoders' batchers (caption searches, VQA question models): up to
 * BATCH_MAX_SIZE requests, not waiting, since the requests one encoder batch
 * resolves reach them in the same event-loop turn.
 */
export function decoderBatching(config: Config): BatcherOptions | undefined {
  const batching = batchOptions(config);
  return batching && { ...batching, maxDelayMs: 0, stage: 'decoder' };
}

export function disposeServices(set: ServiceSet): void {
  set.caption?.dispose();
  set.generate?.dispose();
  set.vqa?.dispose();
}

/**
 * Load every model under MODELS_DIR, to run on `runtime`: the caption model (required), the char
 * model and the VQA models (optional). On a failure, what was loaded is
 * disposed and the error (naming the file) is rethrown.
 */
export async function loadServices(config: Config, runtime: ModelRuntime): Promise<ServiceSet> {
  const set: ServiceSet = {};
  try {
    const t0 = performance.now();
    const batching = batchOptions(config);
    const thread = encoderThread(config, runtime.runtime);
    // VQA shares this encoder, so its requests join the same batches (one batch = one message to the encoder thread).
    const caption = await loadCaptionService(config, runtime);
    set.caption = caption;
    const { name, version } = caption.model;
    log.info(
      {
        model: name,
        version,
        encoder: caption.encoder.name,
        encoder_runtime: caption.encoder.runtime ?? 'tfjs',
        encoder_thread: thread ? 'on' : 'off',
        batching: batching ?? 'off',
        ms: Math.round(performance.now() - t0),
      },
      'caption model loaded',
    );

    if (existsSync(path.join(config.MODELS_DIR, 'char', 'config.json'))) {
      set.generate = await CharService.load(config.MODELS_DIR, undefined, runtime);
      log.info({ model: set.generate.info.name, version: set.generate.info.version }, 'char model loaded');
    } else log.warn({ dir: path.join(config.MODELS_DIR, 'char') }, 'no char model: POST /generate disabled');

    // VQA models reuse the caption encoder when trained on it.
    if (VqaService.modelDirs(path.join(config.MODELS_DIR, 'vqa')).length > 0) {
      const batch = decoderBatching(config);
      set.vqa = await VqaService.load(config.MODELS_DIR, {
        shared: [caption.encoder],
        preferred: config.VQA_DEFAULT_MODEL,
        runtime,
        ...(batch ? { batch } : {}),
      });
      log.info({ models: set.vqa.modelNames, default: set.vqa.defaultModel }, 'VQA models loaded');
    } else log.warn({ dir: path.join(config.MODELS_DIR, 'vqa') }, 'no VQA model: POST /vqa disabled');
    return set;
  } catch (err) {
    disposeServices(set);
    throw err;
  }
}
