/**
 * nsfwjs ships its MobileNetV2 as base64 inside JS modules, which take seconds
 * to decode on every start. Extract it once into models/encoder/ as a plain
 * TF.js layers model (model.json + weights.bin) that tf.io loads from disk.
 *
 *   npx tsx scripts/extract-nsfwjs.ts [outDir]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cli } from '../src/cli/main.js';
import { prepareOutput } from '../src/cli/output.js';

const args = cli({
  usage: 'npx tsx scripts/extract-nsfwjs.ts',
  summary: "Extract nsfwjs's MobileNetV2 (base64 inside JS modules) into a plain TF.js layers model (model.json + weights.bin).",
  example: 'npx tsx scripts/extract-nsfwjs.ts models/encoder/mobilenet_v2',
  options: {},
  positionals: { name: 'out', usage: '[OUT_DIR]', description: 'folder to write (default: models/encoder/mobilenet_v2)', max: 1 },
});
const outDir = args.out[0] ?? 'models/encoder/mobilenet_v2';
prepareOutput(outDir, 'dir', 'OUT_DIR');

type Bundle = { default: Record<string, string> | string };
// The package's exports map hides dist/models, so resolve the folder by hand.
const pkgDir = path.resolve(path.dirname(createRequire(import.meta.url).resolve('nsfwjs')), '../..');
const root = pathToFileURL(path.join(pkgDir, 'dist/models/mobilenet_v2')).href;

const modelModule = (await import(`${root}/model.min.js`)) as {
  default: { modelTopology: unknown; weightsManifest: { paths: string[]; weights: unknown[] }[] };
};
const json = modelModule.default;
const shards: Buffer[] = [];
for (const group of json.weightsManifest) {
  for (const p of group.paths) {
    const mod = (await import(`${root}/${p}.min.js`)) as Bundle;
    const b64 = typeof mod.default === 'string' ? mod.default : Object.values(mod.default)[0];
    if (typeof b64 !== 'string') throw new Error(`unexpected bundle layout in ${p}`);
    shards.push(Buffer.from(b64, 'base64'));
  }
}
const weights = json.weightsManifest.flatMap((g) => g.weights);
await mkdir(outDir, { recursive: true });
await writeFile(
  path.join(outDir, 'model.json'),
  JSON.stringify({ modelTopology: json.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights }] }),
);
await writeFile(path.join(outDir, 'weights.bin'), Buffer.concat(shards));
console.log(`wrote ${outDir}/model.json and weights.bin (${Buffer.concat(shards).length} bytes)`);
