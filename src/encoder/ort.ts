import type * as tf from '@tensorflow/tfjs';
import type * as Ort from 'onnxruntime-node';
import { createSession, loadOrt, type OrtDevice } from '../onnx/runtime.js';
import { log } from '../log.js';
import { INCEPTION_NAME } from './inception.js';
import { MOBILENET_NAME } from './mobilenet.js';
import { exportMobileNetWithGrid, inceptionOnnx, MOBILENET_GRID_OUTPUTS, mobileNetOnnx, ONNX_INPUT } from './onnx.js';
import type { Encoder } from './types.js';

export interface OrtEncoderSpec {
  name: string;
  /** Graph input: [N, S, S, 3] float32 pixels in 0..255 (preprocessing is inside the graph). */
  input: string;
  /** Graph output: [N, dim] features. */
  output: string;
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
  const encodeAsync = async (pixels: tf.Tensor4D): Promise<Float32Array> => {
    const ort = await loadOrt();
    const [n, h, w, c] = pixels.shape;
    if (h !== size || w !== size || c !== 3)
      throw new Error(`${spec.name} takes [N, ${size}, ${size}, 3] pixels; got [${pixels.shape.join(', ')}]`);
    const data = (await pixels.data()) as Float32Array;
    // Fetch only the features (ORT still runs every node, so centernet hands this a graph pruned to them).
    const out = await session.run({ [spec.input]: new ort.Tensor('float32', data, [n, h, w, c]) }, [spec.output]);
    const features = out[spec.output];
    if (!features) throw new Error(`${spec.name}: the ONNX graph has no output "${spec.output}"`);
    // Copy: the result's buffer belongs to ORT's output tensor, released below.
    const row = (features.data as Float32Array).slice();
    for (const t of Object.values(out)) t.dispose();
    return row;
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
    dispose: () => void session.release(),
  };
}

/** An exported Layers encoder on onnxruntime: its graph from `source` (a file, or exported now when stale or missing). */
async function loadOrtLayersEncoder(
  name: string,
  source: () => Promise<{ bytes: Uint8Array; from: string; reason?: string }>,
  device: OrtDevice,
): Promise<Encoder> {
  const t0 = performance.now();
  const { bytes, from, reason } = await source();
  if (reason) log.warn({ encoder: name, reason }, 'exported the ONNX graph at start; `npm run export:onnx` writes it once');
  const session = await createSession(bytes, device);
  log.debug({ encoder: name, from, device, ms: Math.round(performance.now() - t0) }, 'ONNX encoder loaded');
  return ortEncoder(session, { name, input: ONNX_INPUT, output: 'features' });
}

/** MobileNetV2 on onnxruntime: the shipped model.onnx, or one exported from the weights when that is stale. */
export function loadOrtMobileNet(modelsDir: string, device: OrtDevice = 'cpu'): Promise<Encoder> {
  return loadOrtLayersEncoder(MOBILENET_NAME, () => mobileNetOnnx(modelsDir), device);
}

/** InceptionV3 on onnxruntime, serving its pooled mixed9 output. */
export function loadOrtInception(modelsDir: string, device: OrtDevice = 'cpu'): Promise<Encoder> {
  return loadOrtLayersEncoder(INCEPTION_NAME, () => inceptionOnnx(modelsDir), device);
}

/** MobileNetV2 with its feature grid on onnxruntime: both outputs of one run. */
export interface OrtMobileNetWithGrid {
  readonly dim: number;
  readonly inputSize: number;
  /** [S_h, S_w] of the grid: 7×7. */
  readonly gridSize: readonly [number, number];
  /** pixels: [N, S, S, 3] in 0..255 → features [N, dim] and grid [N, S_h, S_w, dim] (NHWC), row-major copies. */
  encodeWithGrid(pixels: tf.Tensor4D): Promise<{ features: Float32Array; grid: Float32Array }>;
  readonly session: Ort.InferenceSession;
  dispose(): void;
}

/** MobileNetV2 exported now (about a second) with a second output, its out_relu grid (exportMobileNetWithGrid). */
export async function loadOrtMobileNetWithGrid(modelsDir: string, device: OrtDevice = 'cpu'): Promise<OrtMobileNetWithGrid> {
  const session = await createSession(await exportMobileNetWithGrid(modelsDir), device);
  const grid = session.outputMetadata.find((m) => m.name === MOBILENET_GRID_OUTPUTS.grid);
  const input = session.inputMetadata.find((m) => m.name === ONNX_INPUT);
  if (!grid?.isTensor || !input?.isTensor) throw new Error(`${MOBILENET_NAME}: the grid graph lacks its input or grid output`);
  const [, S_h, S_w, dim] = grid.shape as [unknown, number, number, number];
  const size = input.shape[1] as number;
  return {
    dim,
    inputSize: size,
    gridSize: [S_h, S_w],
    session,
    encodeWithGrid: async (pixels) => {
      const ort = await loadOrt();
      const [n, h, w, c] = pixels.shape;
      if (h !== size || w !== size || c !== 3)
        throw new Error(`${MOBILENET_NAME} takes [N, ${size}, ${size}, 3] pixels; got [${pixels.shape.join(', ')}]`);
      const data = (await pixels.data()) as Float32Array;
      const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', data, [n, h, w, c]) });
      try {
        const features = out[MOBILENET_GRID_OUTPUTS.features]!.data as Float32Array;
        const g = out[MOBILENET_GRID_OUTPUTS.grid]!.data as Float32Array;
        return { features: features.slice(), grid: g.slice() };
      } finally {
        for (const t of Object.values(out)) t.dispose();
      }
    },
    dispose: () => void session.release(),
  };
}
