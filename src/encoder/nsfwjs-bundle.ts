import type * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The Layers models nsfwjs bundles (base64 inside JS modules). */
export const NSFWJS_MODELS = ['mobilenet_v2', 'mobilenet_v2_mid', 'inception_v3'] as const;
export type NsfwjsModel = (typeof NSFWJS_MODELS)[number];

type Bundle = { default: Record<string, string> | string };
type ModelModule = {
  default: {
    modelTopology: tf.io.ModelArtifacts['modelTopology'];
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
};

/**
 * One of nsfwjs's bundled models as tf.io artifacts (topology, weight specs and
 * the decoded weight bytes). Decoding the base64 takes seconds: callers that
 * need it often should extract it once (scripts/extract-nsfwjs.ts).
 */
export async function loadNsfwjsArtifacts(name: NsfwjsModel): Promise<tf.io.ModelArtifacts & { weightData: ArrayBuffer }> {
  // The package's exports map hides dist/models, so resolve the folder by hand.
  const pkgDir = path.resolve(path.dirname(createRequire(import.meta.url).resolve('nsfwjs')), '../..');
  const root = pathToFileURL(path.join(pkgDir, 'dist/models', name)).href;
  const json = ((await import(`${root}/model.min.js`)) as ModelModule).default;
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const mod = (await import(`${root}/${p}.min.js`)) as Bundle;
      const b64 = typeof mod.default === 'string' ? mod.default : Object.values(mod.default)[0];
      if (typeof b64 !== 'string') throw new Error(`unexpected bundle layout in nsfwjs ${name}/${p}`);
      shards.push(Buffer.from(b64, 'base64'));
    }
  }
  const all = Buffer.concat(shards);
  return {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
  };
}
