import type * as tf from '@tensorflow/tfjs';
import { log } from '../log.js';
import { pruneToOutputs } from '../onnx/graph.js';
import { createSession, loadOrt, type OrtDevice } from '../onnx/runtime.js';
import {
  CENTERNET_DETECT_SIZE,
  CENTERNET_NAME,
  decodeDetections,
  DEFAULT_MIN_SCORE,
  labelsOf,
  peaksToRows,
  type CenterNetEncoder,
} from './centernet.js';
import { CENTERNET_OUTPUTS, centerNetOnnx, ONNX_INPUT } from './onnx.js';
import { ortEncoder } from './ort.js';
import type { DetectedObject } from './types.js';

/**
 * CenterNet on onnxruntime: the graph exported from human's tfjs model
 * (src/onnx/tf-graph.ts), run at one size for both the pooled features and
 * the detections, so one run gives both. The graph ends at the head's TopK;
 * peaksToRows and decodeDetections turn its 100 peaks into objects exactly as
 * the tfjs path decodes the graph's own detection rows.
 */
export async function loadOrtCenterNet(
  modelsDir: string,
  device: OrtDevice = 'cpu',
  size: number = CENTERNET_DETECT_SIZE,
): Promise<CenterNetEncoder> {
  const t0 = performance.now();
  const { bytes, from, reason } = await centerNetOnnx(modelsDir, size);
  if (reason)
    log.warn(
      { encoder: CENTERNET_NAME, reason },
      'exported the ONNX graph at start; `npm run export:onnx -- --encoder centernet` writes it once',
    );
  const session = await createSession(bytes, device);
  // ORT runs the whole graph whatever is fetched: features alone (any batch) get the backbone-only graph,
  // half the work at 224.
  const backbone = await createSession(pruneToOutputs(bytes, [CENTERNET_OUTPUTS.features]), device);
  log.debug({ encoder: CENTERNET_NAME, from, device, ms: Math.round(performance.now() - t0) }, 'ONNX encoder loaded');
  const base = ortEncoder(backbone, { name: CENTERNET_NAME, input: ONNX_INPUT, output: CENTERNET_OUTPUTS.features });
  if (base.inputSize !== size) throw new Error(`${CENTERNET_NAME}: the ONNX graph takes ${base.inputSize} pixels, not ${size}`);

  /** One image's features and detection rows from one run. */
  const run = async (pixels: tf.Tensor4D, withFeatures: boolean): Promise<{ features?: Float32Array; rows: Float32Array }> => {
    const ort = await loadOrt();
    const [n, h, w, c] = pixels.shape;
    if (n !== 1 || h !== size || w !== size || c !== 3)
      throw new Error(`${CENTERNET_NAME} detects in one [1, ${size}, ${size}, 3] image at a time; got [${pixels.shape.join(', ')}]`);
    const { features, scores, indices, wh } = CENTERNET_OUTPUTS;
    const fetches = withFeatures ? [features, scores, indices, wh] : [scores, indices, wh];
    const out = await session.run(
      { [ONNX_INPUT]: new ort.Tensor('float32', (await pixels.data()) as Float32Array, [n, h, w, c]) },
      fetches,
    );
    try {
      const get = (name: string) => {
        const t = out[name];
        if (!t) throw new Error(`${CENTERNET_NAME}: the ONNX graph has no output "${name}"`);
        return t;
      };
      const grid = get(wh).dims[2]!;
      const rows = peaksToRows(
        get(scores).data as Float32Array,
        get(indices).data as Int32Array,
        get(wh).data as Float32Array,
        grid,
        size / grid,
      );
      // Copy: the buffers belong to ORT's output tensors, released below.
      return { rows, ...(withFeatures ? { features: (get(features).data as Float32Array).slice() } : {}) };
    } finally {
      for (const t of Object.values(out)) t.dispose();
    }
  };

  const detect: CenterNetEncoder['detect'] = async (pixels, minScore = DEFAULT_MIN_SCORE) => {
    const found: DetectedObject[][] = [];
    for (let i = 0; i < pixels.shape[0]; i++) {
      const image = pixels.slice([i, 0, 0, 0], [1, -1, -1, -1]);
      try {
        found.push(decodeDetections((await run(image, false)).rows, minScore, size));
      } finally {
        image.dispose();
      }
    }
    return found;
  };

  return {
    ...base,
    detectSize: size,
    detect,
    detectLabels: async (pixels, minScore = DEFAULT_MIN_SCORE) => {
      if (pixels.shape[0] !== 1) throw new Error(`detectLabels takes one image; got a batch of ${pixels.shape[0]}`);
      const [objects] = await detect(pixels, minScore);
      return labelsOf(objects ?? []);
    },
    encodeAndDetect: async (pixels, minScore = DEFAULT_MIN_SCORE) => {
      const { features, rows } = await run(pixels, true);
      return { features: features!, objects: decodeDetections(rows, minScore, size) };
    },
    dispose: () => {
      base.dispose();
      void session.release();
    },
  };
}
