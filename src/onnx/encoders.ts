import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  loadMobileNetLayers,
  MOBILENET_FEATURE_LAYER,
  MOBILENET_INPUT_DIVISOR,
  MOBILENET_NAME,
  mobileNetWeightsFiles,
} from '../encoder/mobilenet.js';
import { INCEPTION_FEATURE_LAYER, INCEPTION_INPUT_DIVISOR, INCEPTION_NAME } from '../encoder/inception.js';
import { loadNsfwjsArtifacts } from '../encoder/nsfwjs-bundle.js';
import { readMetadata } from './graph.js';
import { exportLayersModel, type OutputSpec } from './keras.js';

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

export const EXPORTABLE = {
  [MOBILENET_NAME]: {
    inputSize: 224,
    outputs: [{ name: 'features', layer: MOBILENET_FEATURE_LAYER }],
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

export function onnxPath(modelsDir: string, name: string): string {
  return path.join(modelsDir, 'encoder', name, ONNX_FILE);
}

/**
 * The MobileNetV2 graph: the shipped model.onnx when it was exported from the
 * weights beside it, else exported now (about a second) so a stale or missing
 * file never serves other weights than tfjs would.
 */
export async function mobileNetOnnx(modelsDir: string): Promise<{ bytes: Uint8Array; from: 'file' | 'exported'; reason?: string }> {
  const file = onnxPath(modelsDir, MOBILENET_NAME);
  if (existsSync(file)) {
    const bytes = new Uint8Array(await readFile(file));
    if (readMetadata(bytes)[SOURCE_KEY] === (await mobileNetSource(modelsDir))) return { bytes, from: 'file' };
    return { bytes: await exportEncoder(MOBILENET_NAME, modelsDir), from: 'exported', reason: `${file} was exported from other weights` };
  }
  return { bytes: await exportEncoder(MOBILENET_NAME, modelsDir), from: 'exported', reason: `no ${file}` };
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
