/**
 * Caption image files from the command line (no server), printing JSON lines.
 *
 *   npx tsx scripts/caption.ts [--mode beam] [--beam-size 3] [--n 1] [--models models] IMAGE…
 *
 * TF_BACKEND forces a backend (tfjs-node-gpu, tfjs-node, wasm, cpu).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_GENERATE } from '../src/caption/generate.js';
import { CaptionService } from '../src/caption/service.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    mode: { type: 'string', default: 'beam' },
    'beam-size': { type: 'string', default: '3' },
    n: { type: 'string', default: '1' },
    models: { type: 'string', default: 'models' },
  },
});
const opts = z
  .object({ mode: z.enum(['beam', 'greedy', 'sample']), beamSize: z.coerce.number().int().min(1).max(10), n: z.coerce.number().int().min(1).max(10) })
  .parse({ mode: values.mode, beamSize: values['beam-size'], n: values.n });
if (positionals.length === 0) throw new Error('give one or more image files');

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const service = await CaptionService.load(values.models);
for (const file of positionals) {
  const result = await service.caption(await readFile(file), { ...DEFAULT_GENERATE, ...opts });
  console.log(JSON.stringify({ file, backend, ...result }));
}
service.dispose();
