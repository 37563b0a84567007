import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { CONFIG_FILE } from './model-config.js';

const WEIGHTS_FILE = 'weights.bin';

const weightsManifestSchema = z.array(z.object({ paths: z.array(z.string()), weights: z.array(z.unknown()) }));
const modelJsonSchema = z.object({ modelTopology: z.unknown().optional(), weightsManifest: weightsManifestSchema }).passthrough();

/** Concatenate ArrayBuffers into one. */
export function concatBuffers(parts: ArrayBuffer[]): ArrayBuffer {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), offset);
    offset += p.byteLength;
  }
  return out.buffer;
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/**
 * A tf.io handler that reads `model.json` and its weight shards from a local
 * directory. Weights never come from a URL: everything ships on disk.
 */
export function fileLoader(modelJsonPath: string): tf.io.IOHandler {
  return {
    async load() {
      const raw: unknown = JSON.parse(await readFile(modelJsonPath, 'utf8'));
      const parsed = modelJsonSchema.safeParse(raw);
      if (!parsed.success) {
        throw new Error(`${modelJsonPath} is not a TF.js model.json: ${parsed.error.message}`);
      }
      const json = raw as tf.io.ModelJSON;
      const dir = path.dirname(modelJsonPath);
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(toArrayBuffer(await readFile(path.join(dir, p))));
      }
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: specs,
        weightData: concatBuffers(buffers),
      };
    },
  };
}

/** Write model artifacts as `model.json` + one `weights.bin` in `dir`. */
export async function saveArtifacts(dir: string, artifacts: tf.io.ModelArtifacts): Promise<void> {
  await mkdir(dir, { recursive: true });
  const data = artifacts.weightData;
  const buffer = Array.isArray(data) ? concatBuffers(data) : data;
  const json = {
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
  };
  await writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
  if (buffer) await writeFile(path.join(dir, WEIGHTS_FILE), Buffer.from(buffer));
}

/** A named set of tensors stored as model.json-style manifest + weights.bin. */
export async function saveTensors(dir: string, tensors: Record<string, tf.Tensor>): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await saveArtifacts(dir, { weightSpecs: specs, weightData: data, format: 'captioner-weights' });
}

export async function loadTensors(dir: string): Promise<Record<string, tf.Tensor>> {
  const artifacts = await fileLoader(path.join(dir, 'model.json')).load!();
  if (!artifacts.weightData || !artifacts.weightSpecs) throw new Error(`${dir} holds no weights`);
  const data = artifacts.weightData;
  return tf.io.decodeWeights(Array.isArray(data) ? concatBuffers(data) : data, artifacts.weightSpecs);
}

/** A model folder: weights (model.json + weights.bin) and config.json beside them. */
export async function saveModelDir(dir: string, variables: Record<string, tf.Tensor>, config: object): Promise<void> {
  await saveTensors(dir, variables);
  await writeFile(path.join(dir, CONFIG_FILE), JSON.stringify(config, null, 1));
}

/**
 * Overwrite `variables` with the weights saved in `dir` (e.g. to resume).
 * Each must be there with the same shape: a config that does not match its
 * weights is refused rather than half loaded.
 */
export async function restoreVariables(dir: string, variables: Record<string, tf.Variable>): Promise<void> {
  const tensors = await loadTensors(dir);
  try {
    for (const [name, v] of Object.entries(variables)) {
      const t = tensors[name];
      if (!t) throw new Error(`${dir} lacks weight "${name}"`);
      if (!tf.util.arraysEqual(t.shape, v.shape))
        throw new Error(`${dir}: weight "${name}" has shape [${t.shape.join(',')}], config says [${v.shape.join(',')}]`);
      v.assign(t);
    }
  } finally {
    tf.dispose(Object.values(tensors));
  }
}
