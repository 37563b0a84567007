import { existsSync } from 'node:fs';
import path from 'node:path';
import { CaptionService, type CaptionLoadOptions } from '../caption/service.js';
import { CharService } from '../char/service.js';
import { batchEncoder } from '../encoder/batched.js';
import { loadThreadedEncoder } from '../encoder/thread.js';
import type { Encoder, EncoderStatus } from '../encoder/types.js';
import { batchOptions, encoderThread, type Config } from './config.js';
import type { BatcherOptions } from '../batching/batcher.js';
import { log } from '../log.js';
import type { ModelRuntime } from '../onnx/runtime.js';
import { VqaService } from '../vqa/service.js';
import type { ModelInfo } from './routes/health.js';

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

/** Loaded models by task (GET /health, /health/ready, the reload log). */
export function describeModels(set: ServiceSet): Record<string, ModelInfo> {
  const models: Record<string, ModelInfo> = {};
  if (set.caption) {
    const { name, version } = set.caption.model;
    models.caption = { name, version, encoder: set.caption.encoder.name };
  }
  if (set.vqa) {
    for (const m of set.vqa.summaries()) models[`vqa/${m.name}`] = { name: m.name, version: m.version, encoder: m.encoder };
  }
  if (set.generate) models.generate = set.generate.info;
  return models;
}

/** Where each loaded decoder runs, by task (GET /health's inference.decoders). */
export function decoderRuntimes(set: ServiceSet): Record<string, 'onnx' | 'tfjs'> {
  const out: Record<string, 'onnx' | 'tfjs'> = {};
  if (set.caption) out.caption = set.caption.model.runtime;
  if (set.generate) out.generate = set.generate.runtime;
  for (const [name, rt] of set.vqa?.runtimes() ?? []) out[`vqa/${name}`] = rt;
  return out;
}

/** The caption encoder's supervision state (the VQA models share that encoder); undefined when not supervised. */
export function encoderStatus(set: ServiceSet): EncoderStatus | undefined {
  return set.caption?.encoder.status?.();
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

/** The tasks and VQA model names of a set: routes and their documented options are built from these once. */
function shape(set: ServiceSet): string {
  const tasks = (['caption', 'vqa', 'generate'] as const).filter((t) => set[t] !== undefined);
  const vqa = set.vqa ? ` (vqa: ${set.vqa.modelNames.join(', ')}; default ${set.vqa.defaultModel})` : '';
  return tasks.length === 0 ? 'no models' : `${tasks.join(', ')}${vqa}`;
}

export class ReloadError extends Error {
  override name = 'ReloadError';
}

/** One loaded set and the requests using it. */
interface Generation {
  readonly services: ServiceSet;
  readonly number: number;
  active: number;
  retired: boolean;
  disposed: boolean;
}

/** A service held for one request: `release` (idempotent) lets a retired generation be disposed. */
export interface Lease<S> {
  readonly service: S;
  release(): void;
}

export interface ReloadResult {
  generation: number;
  ms: number;
}

/**
 * The models being served, swapped whole by a reload without dropping
 * requests: each request leases the generation current when it started and
 * keeps it to the end; a generation replaced by a reload is disposed once its
 * last lease is released. Routes are built once, so a reload must bring the
 * same tasks and VQA model names (adding or removing a model needs a restart).
 */
export class ModelRegistry {
  private current: Generation;
  private reloading: Promise<ReloadResult> | undefined;

  /** `loader` loads a fresh set from disk; without one, reload() is refused. */
  constructor(
    initial: ServiceSet,
    private readonly loader?: () => Promise<ServiceSet>,
  ) {
    this.current = { services: initial, number: 1, active: 0, retired: false, disposed: false };
  }

  /** The current services (for descriptions: /health, /models); not for inference, which takes a lease. */
  get services(): ServiceSet {
    return this.current.services;
  }

  get generation(): number {
    return this.current.number;
  }

  /** Whether a reload can be asked for. */
  get canReload(): boolean {
    return this.loader !== undefined;
  }

  /** The current service for `task`, held until released. Throws if the task has no model (its route is not registered then). */
  acquire<T extends Task>(task: T): Lease<NonNullable<ServiceSet[T]>> {
    const gen = this.current;
    const service = gen.services[task];
    if (service === undefined) throw new Error(`no ${task} model is loaded`);
    gen.active++;
    let released = false;
    return {
      service,
      release: () => {
        if (released) return;
        released = true;
        gen.active--;
        this.disposeIfDone(gen);
      },
    };
  }

  /**
   * Load the models anew and swap them in. Requests already running finish on
   * the old ones. On failure (a corrupt file, a different set of models) the
   * old models stay and a ReloadError says why. A reload asked for while one
   * runs joins it.
   */
  reload(): Promise<ReloadResult> {
    this.reloading ??= this.doReload().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async doReload(): Promise<ReloadResult> {
    if (!this.loader) throw new ReloadError('this server cannot reload its models');
    const t0 = performance.now();
    let next: ServiceSet;
    try {
      next = await this.loader();
    } catch (err) {
      throw new ReloadError(`reload failed, still serving the previous models: ${err instanceof Error ? err.message : String(err)}`);
    }
    const [was, now] = [shape(this.current.services), shape(next)];
    if (was !== now) {
      disposeServices(next);
      throw new ReloadError(
        `reload refused, still serving the previous models: it found ${now}, the server serves ${was}; restart to add or remove models`,
      );
    }
    const old = this.current;
    this.current = { services: next, number: old.number + 1, active: 0, retired: false, disposed: false };
    old.retired = true;
    this.disposeIfDone(old);
    return { generation: this.current.number, ms: Math.round(performance.now() - t0) };
  }

  private disposeIfDone(gen: Generation): void {
    if (gen.retired && gen.active === 0 && !gen.disposed) {
      gen.disposed = true;
      disposeServices(gen.services);
    }
  }

  /** At shutdown, once requests have drained: dispose the current models. */
  dispose(): void {
    this.current.retired = true;
    this.disposeIfDone(this.current);
  }
}
