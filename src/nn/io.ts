import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { invalidFile } from '../util/zod-error.js';
import { CONFIG_FILE } from './model-config.js';

const WEIGHTS_FILE = 'weights.bin';

const weightSpecSchema = z
  .object({
    name: z.string(),
    shape: z.array(z.number().int().nonnegative()),
    dtype: z.string(),
    quantization: z.object({ dtype: z.string() }).passthrough().optional(),
  })
  .passthrough();
const weightsManifestSchema = z.array(z.object({ paths: z.array(z.string().min(1)), weights: z.array(weightSpecSchema) }));
const modelJsonSchema = z.object({ modelTopology: z.unknown().optional(), weightsManifest: weightsManifestSchema }).passthrough();

// Bytes per stored value: a quantized weight is stored in its quantization dtype.
const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** Bytes the weights of one manifest group take on disk, or undefined when a dtype (string) has no fixed size. */
export function manifestBytes(weights: readonly z.infer<typeof weightSpecSchema>[]): number | undefined {
  let total = 0;
  for (const w of weights) {
    const bytes = DTYPE_BYTES[w.quantization?.dtype ?? w.dtype];
    if (bytes === undefined) return undefined;
    total += w.shape.reduce((n, d) => n * d, 1) * bytes;
  }
  return total;
}

/** model.json read and checked; every error names the file and says what is wrong with it, in one line. */
async function readModelJson(file: string): Promise<{ json: tf.io.ModelJSON; manifest: z.infer<typeof weightsManifestSchema> }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const why = err instanceof SyntaxError ? `not valid JSON (${err.message})` : (err as Error).message;
    throw new Error(`cannot read model file ${file}: ${why}`);
  }
  const parsed = modelJsonSchema.safeParse(raw);
  if (!parsed.success) throw invalidFile(parsed.error, file, 'a TF.js model.json');
  return { json: raw as tf.io.ModelJSON, manifest: parsed.data.weightsManifest };
}

/**
 * The weight files of one manifest group, concatenated. A file that is
 * truncated (or too long) is refused here, naming it: tfjs would otherwise
 * fail later with a tensor-size error that names neither file nor weight.
 */
async function readWeightGroup(dir: string, modelJson: string, group: z.infer<typeof weightsManifestSchema>[number]): Promise<ArrayBuffer> {
  const files = group.paths.map((p) => path.join(dir, p));
  const buffers: ArrayBuffer[] = [];
  for (const file of files) {
    try {
      buffers.push(toArrayBuffer(await readFile(file)));
    } catch (err) {
      throw new Error(
        `cannot read weights file ${file} (listed in ${modelJson}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  const expected = manifestBytes(group.weights);
  const actual = buffers.reduce((n, b) => n + b.byteLength, 0);
  if (expected !== undefined && actual !== expected) {
    const what = actual < expected ? 'is truncated' : 'is longer than its manifest';
    throw new Error(`weights file ${files.join(' + ')} ${what}: ${actual} bytes, ${modelJson} describes ${expected}; copy the model again`);
  }
  return concatBuffers(buffers);
}

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
      const { json, manifest } = await readModelJson(modelJsonPath);
      const dir = path.dirname(modelJsonPath);
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const [i, group] of manifest.entries()) {
        specs.push(...(json.weightsManifest[i]?.weights ?? []));
        buffers.push(await readWeightGroup(dir, modelJsonPath, group));
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
