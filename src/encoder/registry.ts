import { loadMobileNet, MOBILENET_NAME } from './mobilenet.js';
import type { Encoder } from './types.js';

export const ENCODER_NAMES = [MOBILENET_NAME] as const;
export type EncoderName = (typeof ENCODER_NAMES)[number];

/** Load a shipped encoder by name from `modelsDir`. */
export async function loadEncoder(name: string, modelsDir: string): Promise<Encoder> {
  switch (name) {
    case MOBILENET_NAME:
      return loadMobileNet(modelsDir);
    default:
      throw new Error(`unknown encoder "${name}"; known: ${ENCODER_NAMES.join(', ')}`);
  }
}
