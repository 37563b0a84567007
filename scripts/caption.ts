/**
 * Caption image files from the command line (no server), printing JSON lines.
 *
 *   npx tsx scripts/caption.ts [--mode beam] [--beam-size 3] [--n 1] [--models models] IMAGE…
 *
 * Options, limits and defaults are the /caption route's (src/caption/options.ts).
 * TF_BACKEND forces a backend (tfjs-node-gpu, tfjs-node, wasm, cpu).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CaptionOptionsSchema, toCaptionSearchOptions } from '../src/caption/options.js';
import { CaptionService } from '../src/caption/service.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { formatZodError } from '../src/util/zod-error.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    mode: { type: 'string' },
    'beam-size': { type: 'string' },
    n: { type: 'string' },
    models: { type: 'string', default: 'models' },
  },
});
const parsed = CaptionOptionsSchema.safeParse({ mode: values.mode, beam_size: values['beam-size'], n: values.n });
if (!parsed.success) {
  console.error(formatZodError(parsed.error));
  process.exit(2);
}
const opts = toCaptionSearchOptions(parsed.data);
if (positionals.length === 0) throw new Error('give one or more image files');

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const service = await CaptionService.load(values.models);
for (const file of positionals) {
  const result = await service.caption(await readFile(file), opts);
  console.log(JSON.stringify({ file, backend, ...(opts.mode === 'sample' ? { seed: opts.seed } : {}), ...result }));
}
service.dispose();
