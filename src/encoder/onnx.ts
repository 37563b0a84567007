/**
 * The encoders' ONNX graphs: MobileNetV2 and InceptionV3 exported from their
 * tfjs Keras models, CenterNet from human's tfjs graph (with onnx/'s exporters,
 * which know no encoder), and the shipped model.onnx files read back (MobileNetV2's
 * and CenterNet's only when they were exported from the weights beside them).
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readModelInfo } from '../onnx/graph.js';
import { exportLayersModel, type OutputSpec } from '../onnx/keras.js';
import { exportGraphModel } from '../onnx/tf-graph.js';
import {
  loadMobileNetLayers,
  MOBILENET_FEATURE_LAYER,
  MOBILENET_GRID_LAYER,
  MOBILENET_INPUT_DIVISOR,
  MOBILENET_NAME,
  mobileNetWeightsFiles,
} from './mobilenet.js';
import { INCEPTION_FEATURE_LAYER, INCEPTION_INPUT_DIVISOR, INCEPTION_NAME } from './inception.js';
import { loadNsfwjsArtifacts } from './nsfwjs-bundle.js';
import {
  CENTERNET_DETECT_SIZE,
  CENTERNET_DIM,
  CENTERNET_NAME,
  centerNetArtifacts,
  centerNetFiles,
  FEATURE_NODE,
  humanModelsDir,
  INPUT_NODE,
  TOPK_NODE,
  WH_NODE,
} from './centernet.js';

/** File name of an exported encoder, beside its tfjs weights in MODELS_DIR/encoder/<name>/. */
export const ONNX_FILE = 'model.onnx';
/** metadata_props key holding the sha256 of the tfjs files the graph was exported from. */
const SOURCE_KEY = 'captioner.source_sha256';
export const ONNX_INPUT = 'pixels';

interface ExportableEncoder {
  inputSize: number;
  /** The graph's outputs; the first is the features the encoder serves. */
  outputs: OutputSpec[];
  inputDivisor: number;
  /** Ship uint8 weights (the source's own precision). */
  quantize?: boolean;
  load(modelsDir: string): Promise<{ model: tf.LayersModel; source: string }>;
}

function sha256(parts: (Buffer | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Outputs of the MobileNetV2 graph: "features" [N, 1280], and "grid" [N, 7, 7, 1280] (out_relu, NHWC), which features averages. */
export const MOBILENET_OUTPUTS = { features: 'features', grid: 'grid' } as const;

export const EXPORTABLE = {
  [MOBILENET_NAME]: {
    inputSize: 224,
    // The grid its features average, for region features (src/encoder/regions.ts). ORT runs every node
    // whatever is fetched and computes out_relu for the features anyway: fetching only the features costs
    // what it did before the grid was an output (the NHWC transpose it adds is 63k floats).
    outputs: [
      { name: MOBILENET_OUTPUTS.features, layer: MOBILENET_FEATURE_LAYER },
      { name: MOBILENET_OUTPUTS.grid, layer: MOBILENET_GRID_LAYER },
    ],
    inputDivisor: MOBILENET_INPUT_DIVISOR,
    load: async (modelsDir) => ({ model: await loadMobileNetLayers(modelsDir), source: await mobileNetSource(modelsDir) }),
  },
  // nsfwjs's InceptionV3: 2048-d mixed10 features (flatten_1) and mixed9 averaged over 8×8 (the
  // features served as encoder "inception_v3": the NSFW fine-tuning spoiled the top layers, not mixed9).
  [INCEPTION_NAME]: {
    inputSize: 299,
    outputs: [{ name: 'features', layer: INCEPTION_FEATURE_LAYER, globalAvgPool: true }],
    inputDivisor: INCEPTION_INPUT_DIVISOR,
    quantize: true,
    load: async () => {
      const artifacts = await loadNsfwjsArtifacts('inception_v3');
      return { model: await tf.loadLayersModel(tf.io.fromMemory(artifacts)), source: inceptionSource(artifacts) };
    },
  },
} satisfies Record<string, ExportableEncoder>;
export type ExportableName = keyof typeof EXPORTABLE;

function inceptionSource(artifacts: tf.io.ModelArtifacts & { weightData: ArrayBuffer }): string {
  return sha256([Buffer.from(JSON.stringify(artifacts.modelTopology)), new Uint8Array(artifacts.weightData)]);
}

/** The hash a graph exported from the shipped MobileNetV2 records: its model.json and weights.bin. */
async function mobileNetSource(modelsDir: string): Promise<string> {
  return sha256(await Promise.all(mobileNetWeightsFiles(modelsDir).map((f) => readFile(f))));
}

/** Export one encoder from its tfjs weights; the graph takes [N, S, S, 3] pixels in 0..255. */
export async function exportEncoder(name: ExportableName, modelsDir: string): Promise<Uint8Array> {
  const spec: ExportableEncoder = EXPORTABLE[name];
  const { model, source } = await spec.load(modelsDir);
  try {
    return exportLayersModel(model, {
      outputs: spec.outputs,
      inputDivisor: spec.inputDivisor,
      ...(spec.quantize ? { quantize: true } : {}),
      inputName: ONNX_INPUT,
      graphName: name,
      metadata: { [SOURCE_KEY]: source },
    });
  } finally {
    model.dispose();
  }
}

/** The hash a CenterNet graph exported for `size` records: centernet.json, .bin and the size its head was set for. */
async function centerNetSource(size: number, humanDir: string): Promise<string> {
  return sha256([...(await Promise.all(centerNetFiles(humanDir).map((f) => readFile(f)))), Buffer.from(`detect size ${size}`)]);
}

/** Outputs of the CenterNet graph: "features" [N, 480]; and, for one image, the head's top-100 peaks and box sizes. */
export const CENTERNET_OUTPUTS = { features: 'features', scores: 'scores', indices: 'indices', wh: 'wh' } as const;

/**
 * Export CenterNet (human's tfjs graph) for inputs of `size` (the detection
 * head's constants are set for it). The graph stops at the head's TopK: the
 * box decode of 100 peaks is peaksToRows in TypeScript.
 */
export async function exportCenterNet(size: number = CENTERNET_DETECT_SIZE, humanDir: string = humanModelsDir()): Promise<Uint8Array> {
  const artifacts = await centerNetArtifacts(humanDir, size);
  const grid = size / 4; // the head's heatmap is at stride 4
  return exportGraphModel(artifacts, {
    graphName: CENTERNET_NAME,
    input: { node: INPUT_NODE, name: ONNX_INPUT, dims: ['N', size, size, 3] },
    outputs: [
      { tensor: FEATURE_NODE, name: CENTERNET_OUTPUTS.features, dims: ['N', CENTERNET_DIM], globalAvgPool: true },
      { tensor: TOPK_NODE, name: CENTERNET_OUTPUTS.scores, dims: [1, 100] },
      { tensor: `${TOPK_NODE}:1`, name: CENTERNET_OUTPUTS.indices, dims: [1, 100], type: 'int32' },
      { tensor: WH_NODE, name: CENTERNET_OUTPUTS.wh, dims: [1, grid, grid, 4] },
    ],
    metadata: { [SOURCE_KEY]: await centerNetSource(size, humanDir) },
  });
}

export function onnxPath(modelsDir: string, name: string): string {
  return path.join(modelsDir, 'encoder', name, ONNX_FILE);
}

/**
 * The MobileNetV2 graph: the shipped model.onnx when it was exported from the
 * weights beside it with today's outputs, else exported now (about a second) so a
 * stale or missing file never serves other weights than tfjs would, and a file
 * from before the grid output was added still gives regions.
 */
export async function mobileNetOnnx(modelsDir: string): Promise<OnnxGraph> {
  return shippedOrExported(
    onnxPath(modelsDir, MOBILENET_NAME),
    await mobileNetSource(modelsDir),
    () => exportEncoder(MOBILENET_NAME, modelsDir),
    EXPORTABLE[MOBILENET_NAME].outputs.map((o) => o.name),
  );
}

/** The CenterNet graph for `size`: the shipped models/encoder/centernet/model.onnx when current, else exported now. */
export async function centerNetOnnx(
  modelsDir: string,
  size: number = CENTERNET_DETECT_SIZE,
  humanDir: string = humanModelsDir(),
): Promise<OnnxGraph> {
  return shippedOrExported(onnxPath(modelsDir, CENTERNET_NAME), await centerNetSource(size, humanDir), () =>
    exportCenterNet(size, humanDir),
  );
}

export interface OnnxGraph {
  bytes: Uint8Array;
  from: 'file' | 'exported';
  /** Why the graph was exported rather than read. */
  reason?: string;
}

/**
 * `file` when it records `source` as what it was exported from and has every output
 * in `outputs`, else `exportNow()`. The outputs are checked apart from the source hash,
 * so the reason logged says which of the two made the file stale.
 */
async function shippedOrExported(
  file: string,
  source: string,
  exportNow: () => Promise<Uint8Array>,
  outputs: readonly string[] = [],
): Promise<OnnxGraph> {
  if (!existsSync(file)) return { bytes: await exportNow(), from: 'exported', reason: `no ${file}` };
  const bytes = new Uint8Array(await readFile(file));
  const info = readModelInfo(bytes);
  if (info.metadata[SOURCE_KEY] !== source)
    return { bytes: await exportNow(), from: 'exported', reason: `${file} was exported from other weights` };
  const missing = outputs.filter((o) => !info.outputs.includes(o));
  if (missing.length > 0)
    return { bytes: await exportNow(), from: 'exported', reason: `${file} lacks the output(s) ${missing.join(', ')} (an older export)` };
  return { bytes, from: 'file' };
}

/**
 * The InceptionV3 graph: MODELS_DIR/encoder/inception_v3/model.onnx (written by
 * `npm run export:onnx -- --encoder inception_v3`) when present, else exported
 * now from nsfwjs (about 10 s).
 */
export async function inceptionOnnx(modelsDir: string): Promise<{ bytes: Uint8Array; from: 'file' | 'exported'; reason?: string }> {
  const file = onnxPath(modelsDir, INCEPTION_NAME);
  if (existsSync(file)) return { bytes: new Uint8Array(await readFile(file)), from: 'file' };
  return { bytes: await exportEncoder(INCEPTION_NAME, modelsDir), from: 'exported', reason: `no ${file}` };
}
