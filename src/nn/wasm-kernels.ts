import * as tf from '@tensorflow/tfjs';

/** Minimal view of the wasm backend used by the kernels below. */
interface WasmBackendLike {
  readSync(dataId: unknown): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
}

let registered = false;

/**
 * The wasm backend lacks UnsortedSegmentSum, which is the gradient of gather:
 * without it any embedding lookup cannot be trained. A plain JS loop is fast
 * enough: it runs once per batch over (tokens × embedding) floats.
 */
export function registerWasmExtras(): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as WasmBackendLike;
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (attrs as { numSegments: number }).numSegments;
      const inner = x.shape.slice(1).reduce((a, d) => a * d, 1);
      const xs = b.readSync(x.dataId);
      const ids = b.readSync(segmentIds.dataId);
      const out = b.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
      const o = b.typedArrayFromHeap(out);
      o.fill(0);
      for (let r = 0; r < ids.length; r++) {
        const s = ids[r] as number;
        if (s < 0 || s >= numSegments) continue;
        const src = r * inner;
        const dst = s * inner;
        for (let k = 0; k < inner; k++) o[dst + k] = (o[dst + k] as number) + (xs[src + k] as number);
      }
      return out;
    },
  });
}
