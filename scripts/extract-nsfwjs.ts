/**
 * nsfwjs ships its MobileNetV2 as base64 inside JS modules, which take seconds
 * to decode on every start. Extract it once into models/encoder/ as a plain
 * TF.js layers model (model.json + weights.bin) that tf.io loads from disk.
 *
 *   npx tsx scripts/extract-nsfwjs.ts [outDir]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cli } from '../src/cli/main.js';
import { prepareOutput } from '../src/cli/output.js';
import { loadNsfwjsArtifacts } from '../src/encoder/nsfwjs-bundle.js';

const args = cli({
  usage: 'npx tsx scripts/extract-nsfwjs.ts',
  summary: "Extract nsfwjs's MobileNetV2 (base64 inside JS modules) into a plain TF.js layers model (model.json + weights.bin).",
  example: 'npx tsx scripts/extract-nsfwjs.ts models/encoder/mobilenet_v2',
  options: {},
  positionals: { name: 'out', usage: '[OUT_DIR]', description: 'folder to write (default: models/encoder/mobilenet_v2)', max: 1 },
});
const outDir = args.out[0] ?? 'models/encoder/mobilenet_v2';
prepareOutput(outDir, 'dir', 'OUT_DIR');

const { modelTopology, weightSpecs, weightData } = await loadNsfwjsArtifacts('mobilenet_v2');
const bytes = Buffer.from(weightData);
await mkdir(outDir, { recursive: true });
await writeFile(
  path.join(outDir, 'model.json'),
  JSON.stringify({ modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs }] }),
);
await writeFile(path.join(outDir, 'weights.bin'), bytes);
console.log(`wrote ${outDir}/model.json and weights.bin (${bytes.length} bytes)`);
