import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { TFJS_RUNTIME, type DecoderRuntime } from '../onnx/runtime.js';
import { onnxCharStepper } from './onnx.js';
import { CharModel } from './model.js';
import type { CharSampleOptions } from './options.js';
import type { GenerateResult, SampleStep } from './reply.js';
import { generate } from './sample.js';
import type { CharStep } from './stepper.js';
import { UnknownCharsError } from './vocab.js';
import type { ModelRef } from '../util/reply.js';

/** Characters generated between two yields to the event loop, so a long request never stalls the server. */
const YIELD_EVERY = 32;

/** Text generation with the char-level model in `models/char`. */
export class CharService {
  private constructor(
    readonly model: CharModel,
    /** The onnxruntime step, built once at load; absent: tfjs (a CharStepper per request). */
    private readonly onnx?: CharStep,
  ) {}

  /** Load the char model in `charDir`, to run on `runtime` (tfjs when not given). */
  static async load(
    modelsDir: string,
    charDir = path.join(modelsDir, 'char'),
    runtime: DecoderRuntime = TFJS_RUNTIME,
  ): Promise<CharService> {
    return CharService.fromModel(await CharModel.load(charDir), runtime);
  }

  static fromModel(model: CharModel, runtime: DecoderRuntime = TFJS_RUNTIME): CharService {
    if (runtime.runtime !== 'onnx') return new CharService(model);
    try {
      return new CharService(model, onnxCharStepper(model, runtime.device));
    } catch (err) {
      model.dispose();
      throw err;
    }
  }

  /** Where the model runs. */
  get runtime(): 'onnx' | 'tfjs' {
    return this.onnx ? 'onnx' : 'tfjs';
  }

  get info(): ModelRef {
    return { name: this.model.config.name, version: this.model.config.version };
  }

  /** Throws UnknownCharsError naming the prime's characters that the model has never seen. */
  checkPrime(prime: string): void {
    const unknown = this.model.vocab.unknown(prime);
    if (unknown.length > 0) throw new UnknownCharsError(unknown);
  }

  /**
   * Generated characters in groups of up to `chunk`, yielding to the event
   * loop between groups. Stopping early (return/break) frees the state.
   */
  async *stream(opts: CharSampleOptions, chunk = YIELD_EVERY): AsyncGenerator<SampleStep[], void, undefined> {
    this.checkPrime(opts.prime);
    const it = generate(this.model, opts, this.onnx);
    try {
      let group: SampleStep[] = [];
      for (const step of it) {
        group.push(step);
        if (group.length >= chunk) {
          yield group;
          group = [];
          await yieldToEventLoop();
        }
      }
      if (group.length > 0) yield group;
    } finally {
      it.return();
    }
  }

  async generate(opts: CharSampleOptions): Promise<GenerateResult> {
    const t0 = performance.now();
    const steps: SampleStep[] = [];
    for await (const group of this.stream(opts)) steps.push(...group);
    return {
      text: steps.map((s) => s.char).join(''),
      model: this.info,
      ...(opts.candidates ? { steps } : {}),
      timings_ms: { generate: Math.round((performance.now() - t0) * 10) / 10 },
    };
  }

  dispose(): void {
    this.onnx?.dispose();
    this.model.dispose();
  }
}
