import type { EncoderStatus } from '../encoder/types.js';
import { disposeServices, type ServiceSet, type Task } from '../app/services.js';
import type { ModelInfo } from './routes/health.js';

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
