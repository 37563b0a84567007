/**
 * Caption image files from the command line (no server), printing JSON lines.
 *
 *   npx tsx scripts/caption.ts [--mode beam] [--beam-size 3] [--n 1] [--models models] IMAGE…
 *
 * TF_BACKEND forces a backend (tfjs-node-gpu, tfjs-node, wasm, cpu).
 */
import { readFile } from 'node:fs/promises';
import { cli } from '../src/cli/main.js';
import { DEFAULT_GENERATE } from '../src/caption/generate.js';
import { CaptionService } from '../src/caption/service.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const args = cli({
  usage: 'npx tsx scripts/caption.ts',
  summary: 'Caption image files from the command line (no server), printing JSON lines.',
  example: 'npx tsx scripts/caption.ts --mode beam --beam-size 5 --n 3 photo.jpg',
  notes: 'TF_BACKEND forces a backend (tfjs-node-gpu, tfjs-node, wasm, cpu).',
  options: {
    mode: { type: 'choice', choices: ['beam', 'greedy', 'sample'], default: 'beam', description: 'search' },
    beamSize: { type: 'number', int: true, min: 1, max: 10, default: 3, description: 'beam width' },
    n: { type: 'number', int: true, min: 1, max: 10, default: 1, description: 'captions per image' },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder' },
  },
  positionals: { name: 'images', usage: 'IMAGE…', description: 'image files', min: 1 },
});
const opts = { mode: args.mode, beamSize: args.beamSize, n: args.n };

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const service = await CaptionService.load(args.models);
for (const file of args.images) {
  const result = await service.caption(await readFile(file), { ...DEFAULT_GENERATE, ...opts });
  console.log(JSON.stringify({ file, backend, ...result }));
}
service.dispose();
