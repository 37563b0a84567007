import * as tf from '@tensorflow/tfjs';
import { CENTERNET_NAME, loadCenterNet } from './centernet.js';
import { loadMobileNet, MOBILENET_NAME } from './mobilenet.js';
import type { Encoder } from './types.js';

export const ENCODER_NAMES = [MOBILENET_NAME, CENTERNET_NAME] as const;
export type EncoderName = (typeof ENCODER_NAMES)[number];

/** Separator of a combined encoder's parts: "mobilenet_v2+centernet". */
export const COMBINE = '+';

async function loadSingle(name: string, modelsDir: string): Promise<Encoder> {
  switch (name) {
    case MOBILENET_NAME:
      return loadMobileNet(modelsDir);
    case CENTERNET_NAME:
      // Ships with @vladmandic/human: read from that package's models folder, not modelsDir.
      return loadCenterNet();
    default:
      throw new Error(`unknown encoder "${name}"; known: ${ENCODER_NAMES.join(', ')} or several joined by "${COMBINE}"`);
  }
}

/**
 * Features of several encoders side by side, in the order named. If one part
 * detects objects (centernet), so does the combination, with the same features.
 */
export function combineEncoders(parts: Encoder[]): Encoder {
  const size = parts[0]!.inputSize;
  const mismatch = parts.find((p) => p.inputSize !== size);
  if (mismatch) throw new Error(`cannot combine encoders with input sizes ${size} and ${mismatch.inputSize}`);
  const detector = parts.find((p) => p.encodeAndDetect);
  const encodeAndDetect: Encoder['encodeAndDetect'] = async (pixels, minScore) => {
    const rows: Float32Array[] = [];
    let objects: Awaited<ReturnType<NonNullable<Encoder['encodeAndDetect']>>>['objects'] = [];
    for (const p of parts) {
      if (p === detector) {
        const out = await p.encodeAndDetect!(pixels, minScore);
        rows.push(out.features);
        objects = out.objects;
      } else {
        const f = p.encode(pixels);
        rows.push((await f.data()) as Float32Array);
        f.dispose();
      }
    }
    const features = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
    rows.reduce((at, r) => (features.set(r, at), at + r.length), 0);
    return { features, objects };
  };
  return {
    ...(detector ? { encodeAndDetect } : {}),
    name: parts.map((p) => p.name).join(COMBINE),
    dim: parts.reduce((n, p) => n + p.dim, 0),
    inputSize: size,
    encode: (pixels) =>
      tf.tidy(
        () =>
          tf.concat(
            parts.map((p) => p.encode(pixels)),
            1,
          ) as tf.Tensor2D,
      ),
    dispose: () => parts.forEach((p) => p.dispose()),
  };
}

/** Load a shipped encoder, or a combination like "mobilenet_v2+centernet". */
export async function loadEncoder(name: string, modelsDir: string): Promise<Encoder> {
  const names = name.split(COMBINE);
  if (names.length === 1) return loadSingle(name, modelsDir);
  return combineEncoders(await Promise.all(names.map((n) => loadSingle(n, modelsDir))));
}
