import type * as tf from '@tensorflow/tfjs';
import type * as Ort from 'onnxruntime-node';
import { createSession, loadOrt, type OrtDevice } from '../onnx/runtime.js';
import { log } from '../log.js';
import { INCEPTION_NAME } from './inception.js';
import { MOBILENET_NAME } from './mobilenet.js';
import { inceptionOnnx, MOBILENET_OUTPUTS, mobileNetOnnx, ONNX_INPUT } from './onnx.js';
import type { Encoder, FeaturesWithGrid } from './types.js';

export interface OrtEncoderSpec {
  name: string;
  /** Graph input: [N, S, S, 3] float32 pixels in 0..255 (preprocessing is inside the graph). */
  input: string;
  /** Graph output: [N, dim] features. */
  output: string;
  /** Graph output of the feature grid `output` pools, [N, S_h, S_w, C] NHWC: gives the encoder encodeWithGrid. */
  grid?: string;
}

/** [S_h, S_w, C] of a grid output [N, S_h, S_w, C], which must be fixed. */
function gridShapeOf(shape: readonly (number | string)[], name: string): [number, number, number] {
  const [, S_h, S_w, C] = shape;
  if (shape.length !== 4 || typeof S_h !== 'number' || typeof S_w !== 'number' || typeof C !== 'number')
    throw new Error(`${name}: the ONNX graph's grid must be [N, S_h, S_w, C] with fixed S_h, S_w, C; got [${shape.join(', ')}]`);
  return [S_h, S_w, C];
}

/**
 * An Encoder whose CNN runs in onnxruntime. ORT runs asynchronously, so only
 * encodeAsync works; encode() (synchronous, for tfjs graphs) says so.
 */
export function ortEncoder(session: Ort.InferenceSession, spec: OrtEncoderSpec): Encoder {
  const dims = (io: readonly Ort.InferenceSession.ValueMetadata[], name: string) => {
    const meta = io.find((m) => m.name === name);
    if (!meta?.isTensor) throw new Error(`${spec.name}: the ONNX graph has no tensor "${name}"`);
    return meta.shape;
  };
  const [, size] = dims(session.inputMetadata, spec.input);
  const [, dim] = dims(session.outputMetadata, spec.output);
  if (typeof size !== 'number' || typeof dim !== 'number')
    throw new Error(`${spec.name}: the ONNX graph's input side and feature length must be fixed`);
  const gridShape = spec.grid === undefined ? undefined : gridShapeOf(dims(session.outputMetadata, spec.grid), spec.name);
  /** Copies of `fetches` from one run; the pixels are checked against the graph's input side first. */
  const run = async (pixels: tf.Tensor4D, fetches: string[]): Promise<Float32Array[]> => {
    const ort = await loadOrt();
    const [n, h, w, c] = pixels.shape;
    if (h !== size || w !== size || c !== 3)
      throw new Error(`${spec.name} takes [N, ${size}, ${size}, 3] pixels; got [${pixels.shape.join(', ')}]`);
    const data = (await pixels.data()) as Float32Array;
    // Fetch only what is asked for (ORT still runs every node, so centernet hands this a graph pruned to its features).
    const out = await session.run({ [spec.input]: new ort.Tensor('float32', data, [n, h, w, c]) }, fetches);
    try {
      return fetches.map((name) => {
        const t = out[name];
        if (!t) throw new Error(`${spec.name}: the ONNX graph has no output "${name}"`);
        // Copy: the result's buffer belongs to ORT's output tensor, released below.
        return (t.data as Float32Array).slice();
      });
    } finally {
      for (const t of Object.values(out)) t.dispose();
    }
  };
  const encodeAsync = async (pixels: tf.Tensor4D): Promise<Float32Array> => (await run(pixels, [spec.output]))[0]!;
  const encodeWithGrid = async (pixels: tf.Tensor4D): Promise<FeaturesWithGrid> => {
    const [features, grid] = await run(pixels, [spec.output, spec.grid!]);
    return { features: features!, grid: grid!, gridShape: gridShape! };
  };
  return {
    name: spec.name,
    dim,
    inputSize: size,
    runtime: 'onnx',
    encode: () => {
      throw new Error(`${spec.name} runs in onnxruntime, which is asynchronous: call encodeFeatures() (src/encoder/pixels.ts)`);
    },
    encodeAsync,
    ...(gridShape ? { encodeWithGrid } : {}),
    dispose: () => void session.release(),
  };
}

/** An exported Layers encoder on onnxruntime: its graph from `source` (a file, or exported now when stale or missing). */
async function loadOrtLayersEncoder(
  name: string,
  source: () => Promise<{ bytes: Uint8Array; from: string; reason?: string }>,
  device: OrtDevice,
  grid?: string,
): Promise<Encoder> {
  const t0 = performance.now();
  const { bytes, from, reason } = await source();
  if (reason) log.warn({ encoder: name, reason }, 'exported the ONNX graph at start; `npm run export:onnx` writes it once');
  const session = await createSession(bytes, device);
  log.debug({ encoder: name, from, device, ms: Math.round(performance.now() - t0) }, 'ONNX encoder loaded');
  return ortEncoder(session, { name, input: ONNX_INPUT, output: 'features', ...(grid === undefined ? {} : { grid }) });
}

/**
 * MobileNetV2 on onnxruntime: the shipped model.onnx, or one exported from the weights when that is
 * stale. Its features and, with encodeWithGrid, the 7×7×1280 grid they average come from one graph.
 */
export function loadOrtMobileNet(modelsDir: string, device: OrtDevice = 'cpu'): Promise<Encoder> {
  return loadOrtLayersEncoder(MOBILENET_NAME, () => mobileNetOnnx(modelsDir), device, MOBILENET_OUTPUTS.grid);
}

/** InceptionV3 on onnxruntime, serving its pooled mixed9 output. */
export function loadOrtInception(modelsDir: string, device: OrtDevice = 'cpu'): Promise<Encoder> {
  return loadOrtLayersEncoder(INCEPTION_NAME, () => inceptionOnnx(modelsDir), device);
}
