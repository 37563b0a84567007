/**
 * Caption image files from the command line (no server), printing JSON lines.
 * Options, limits and defaults are the /caption route's (src/caption/options.ts).
 */
import { readFile } from 'node:fs/promises';
import { CaptionOptionsObject, CaptionOptionsSchema, toCaptionSearchOptions } from '../src/caption/options.js';
import { CaptionService } from '../src/caption/service.js';
import { cli } from '../src/cli/main.js';
import { pickValues, schemaOptions } from '../src/cli/schema-options.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const search = schemaOptions(CaptionOptionsObject);
const args = cli({
  usage: 'npx tsx scripts/caption.ts',
  summary: 'Caption image files from the command line (no server), printing JSON lines.',
  example: 'npx tsx scripts/caption.ts --mode beam --beam-size 5 --n 3 photo.jpg',
  notes: 'TF_BACKEND forces a backend (tfjs-node-gpu, tfjs-node, wasm, cpu).',
  options: {
    ...search.options,
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder' },
  },
  defaults: search.defaults,
  positionals: { name: 'images', usage: 'IMAGE…', description: 'image files', min: 1 },
});
const opts = toCaptionSearchOptions(CaptionOptionsSchema.parse(pickValues(args, Object.keys(search.options))));

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
const service = await CaptionService.load(args.models);
for (const file of args.images) {
  const result = await service.caption(await readFile(file), opts);
  console.log(JSON.stringify({ file, backend, ...(opts.mode === 'sample' ? { seed: opts.seed } : {}), ...result }));
}
service.dispose();
