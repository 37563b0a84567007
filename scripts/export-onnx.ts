/**
 * Export the image encoders to ONNX from their tfjs weights.
 *
 *   npm run export:onnx [-- --encoder mobilenet_v2|centernet|inception_v3|all] [--models models] [--out FILE]
 *
 * mobilenet_v2 ships its model.onnx (models/encoder/mobilenet_v2/, 9.1 MB), with
 * outputs "features" and "grid" (out_relu, [N, 7, 7, 1280], for region features);
 * the server checks that it was exported from the weights beside it with both
 * outputs and re-exports in memory otherwise. inception_v3 (nsfwjs, 90 MB as float32) is not shipped:
 * this writes it to models/encoder/inception_v3/ (git-ignored) when wanted.
 * centernet (human's tfjs graph model, exported at its 224 detection size up
 * to the head's TopK) ships its model.onnx like mobilenet_v2.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cli, UsageError } from '../src/cli/main.js';
import { CENTERNET_NAME } from '../src/encoder/centernet.js';
import { EXPORTABLE, exportCenterNet, exportEncoder, onnxPath, type ExportableName } from '../src/encoder/onnx.js';
import { initBackend } from '../src/nn/backend.js';

const NAMES = [...(Object.keys(EXPORTABLE) as ExportableName[]), CENTERNET_NAME] as const;
type Name = (typeof NAMES)[number];

const args = cli({
  usage: 'npm run export:onnx --',
  summary:
    'Export image encoders to ONNX (input: [N, S, S, 3] pixels 0..255; output "features", plus the 7×7×1280 "grid" for mobilenet_v2 and the detection peaks for centernet).',
  example: 'npm run export:onnx -- --encoder inception_v3',
  options: {
    encoder: {
      type: 'choice',
      choices: ['mobilenet_v2', 'centernet', 'inception_v3', 'all'],
      default: 'mobilenet_v2',
      description: 'which encoder',
    },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder (tfjs weights in, model.onnx out)' },
    out: { type: 'string', output: 'file', description: 'file to write instead of MODELS/encoder/<name>/model.onnx (one encoder only)' },
  },
});
const names: readonly Name[] = args.encoder === 'all' ? NAMES : [args.encoder satisfies Name];
if (args.out && names.length > 1) throw new UsageError('--out: give one --encoder, not all');

// Dequantising and transposing weights is tfjs work: use the fastest backend there is.
await initBackend();
for (const name of names) {
  const t0 = performance.now();
  const bytes = name === CENTERNET_NAME ? await exportCenterNet() : await exportEncoder(name, args.models);
  const file = args.out ?? onnxPath(args.models, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  console.log(`${name}: wrote ${file} (${(bytes.length / 1e6).toFixed(1)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
