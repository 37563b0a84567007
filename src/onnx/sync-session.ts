import { createRequire } from 'node:module';
import os from 'node:os';
import type * as Ort from 'onnxruntime-node';
import type { OrtDevice } from './runtime.js';

/** The part of onnxruntime-node's native binding used here (declared in its dist/binding.d.ts). */
interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: Ort.InferenceSession.SessionOptions): void;
  run(
    feeds: Record<string, Ort.Tensor>,
    fetches: Record<string, null>,
    options: Ort.InferenceSession.RunOptions,
  ): Record<string, { data: unknown; dims: readonly number[] }>;
  dispose(): void;
}
interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}

/**
 * Intra-op threads of a decoder session. Its matMuls are a few rows
 * ([beam, 384]·[384, 2540]): too small to split, and a second thread only
 * adds hand-offs (measured here, one grounded step at 3 rows: 0.35 ms on one
 * thread, 0.73–1.28 ms on two).
 */
export const DECODER_THREADS = 1;

/** One tensor fed to a graph: float32 or int32 values and their dims. */
export interface Feed {
  data: Float32Array | Int32Array;
  dims: readonly number[];
}

let native: { binding: NativeBinding; Tensor: typeof Ort.Tensor } | undefined;

function loadNative(): { binding: NativeBinding; Tensor: typeof Ort.Tensor } {
  if (!native) {
    const require = createRequire(import.meta.url);
    native = {
      binding: require('onnxruntime-node/dist/binding.js') as NativeBinding,
      Tensor: (require('onnxruntime-node') as typeof Ort).Tensor,
    };
  }
  return native;
}

/**
 * An onnxruntime session that runs synchronously. The decoders run inside the
 * searches, whose StepModel.step is synchronous (as tfjs is); the public
 * InferenceSession.run only wraps this same native, blocking call in a
 * setImmediate promise, so calling the binding directly costs nothing and
 * keeps greedy, beam and sampling unchanged.
 */
export class SyncSession {
  private constructor(
    private readonly session: NativeSession,
    private readonly Tensor: typeof Ort.Tensor,
    readonly outputs: readonly string[],
  ) {}

  /** `outputs`: the graph outputs run() returns, in this order. */
  static create(
    model: Uint8Array,
    outputs: readonly string[],
    device: OrtDevice = 'cpu',
    threads = os.availableParallelism(),
  ): SyncSession {
    const { binding, Tensor } = loadNative();
    binding.initOrt();
    const session = new binding.binding.InferenceSession();
    const options: Ort.InferenceSession.SessionOptions = {
      executionProviders: [device],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    };
    try {
      session.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, options);
    } catch (err) {
      const why = err instanceof Error ? err.message.split('\n')[0]! : String(err);
      throw new Error(`onnxruntime could not start a ${device} session: ${why}`);
    }
    return new SyncSession(session, Tensor, outputs);
  }

  /** Run the graph; returns each output's values (copied: ORT owns its buffers), in `outputs` order. */
  run(feeds: Record<string, Feed>): Float32Array[] {
    const tensors: Record<string, Ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) {
      tensors[name] = f.data instanceof Int32Array ? new this.Tensor('int32', f.data, f.dims) : new this.Tensor('float32', f.data, f.dims);
    }
    const fetches = Object.fromEntries(this.outputs.map((o) => [o, null]));
    const out = this.session.run(tensors, fetches, {});
    return this.outputs.map((name) => {
      const data = out[name]?.data;
      if (!(data instanceof Float32Array)) throw new Error(`ONNX graph output "${name}" is missing or not float32`);
      return data.slice();
    });
  }

  dispose(): void {
    this.session.dispose();
  }
}

/**
 * A decoder's sessions (one per graph, DECODER_THREADS each), opened together and freed together: when
 * one fails to open, those already open are freed before the error is rethrown.
 */
export function openDecoderSessions<K extends string>(
  graphs: Record<K, { bytes: Uint8Array; outputs: string[] }>,
  device: OrtDevice,
): { sessions: Record<K, SyncSession>; dispose: () => void } {
  const opened: SyncSession[] = [];
  const dispose = () => opened.forEach((s) => s.dispose());
  try {
    const entries = Object.entries(graphs) as [K, { bytes: Uint8Array; outputs: string[] }][];
    const sessions = Object.fromEntries(
      entries.map(([name, g]) => {
        const session = SyncSession.create(g.bytes, g.outputs, device, DECODER_THREADS);
        opened.push(session);
        return [name, session];
      }),
    ) as Record<K, SyncSession>;
    return { sessions, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}
