/**
 * Ask a question about image files from the command line (no server), printing JSON lines.
 *
 *   npx tsx scripts/vqa.ts --question "what is the man riding?" [--model easy-vqa] [--top-k 3] [--models models] IMAGE…
 *
 * TF_BACKEND forces a backend (tfjs-node-gpu, tfjs-node, wasm, cpu).
 */
import { readFile } from 'node:fs/promises';
import { cli } from '../src/cli/main.js';
import { z } from 'zod';
import { loadConfig } from '../src/server/config.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { questionField } from '../src/server/routes/vqa.js';
import { VqaService } from '../src/vqa/service.js';

const args = cli({
  usage: 'npx tsx scripts/vqa.ts',
  summary: 'Ask a question about image files from the command line (no server), printing JSON lines.',
  example: 'npx tsx scripts/vqa.ts --question "what is the dog playing with?" photo.jpg',
  notes: 'TF_BACKEND forces a backend (tfjs-node-gpu, tfjs-node, wasm, cpu).',
  options: {
    question: { type: 'string', required: true, description: 'the question' },
    model: { type: 'string', description: 'VQA model: a folder name under <models>/vqa', defaultText: 'VQA_DEFAULT_MODEL' },
    topK: { type: 'number', int: true, min: 1, max: 20, default: 3, description: 'answers per image' },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder' },
  },
  positionals: { name: 'images', usage: 'IMAGE…', description: 'image files', min: 1 },
});
const opts = z.object({ question: questionField, model: z.string().optional(), topK: z.number() }).parse(args);

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
// Without --model: VQA_DEFAULT_MODEL, as the server does.
const service = await VqaService.load(args.models, { preferred: opts.model ?? loadConfig(process.env).VQA_DEFAULT_MODEL });
if (opts.model && !service.modelNames.includes(opts.model)) throw new Error(`no VQA model ${opts.model}; have ${service.modelNames.join(', ')}`);
for (const file of args.images) {
  const result = await service.answer(await readFile(file), opts.question, { topK: opts.topK });
  console.log(JSON.stringify({ file, question: opts.question, backend, ...result }));
}
service.dispose();
