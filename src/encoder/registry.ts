import { CENTERNET_NAME, loadCenterNet } from './centernet.js';
import { loadMobileNet, MOBILENET_NAME } from './mobilenet.js';
import type { Encoder } from './types.js';

export const ENCODER_NAMES = [MOBILENET_NAME, CENTERNET_NAME] as const;
export type EncoderName = (typeof ENCODER_NAMES)[number];

/** Load a shipped encoder by name from `modelsDir`. */
export async function loadEncoder(name: string, modelsDir: string): Promise<Encoder> {
  switch (name) {
    case MOBILENET_NAME:
      return loadMobileNet(modelsDir);
    case CENTERNET_NAME:
      // Ships with @vladmandic/human: read from that package's models folder, not modelsDir.
      return loadCenterNet();
    default:
      throw new Error(`unknown encoder "${name}"; known: ${ENCODER_NAMES.join(', ')}`);
  }
}
