/**
 * Ask a question about image files from the command line (no server), printing JSON lines.
 */
import { readFile } from 'node:fs/promises';
import { cli } from '../src/cli/main.js';
import { z } from 'zod';
import { loadConfig } from '../src/app/config.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { numberField } from '../src/util/option-fields.js';
import { DEFAULT_TOP_K, questionField, TOP_K } from '../src/vqa/question.js';
import { VqaService } from '../src/vqa/service.js';

const args = cli({
  usage: 'npx tsx scripts/vqa.ts',
  summary: 'Ask a question about image files from the command line (no server), printing JSON lines.',
  example: 'npx tsx scripts/vqa.ts --question "what is the dog playing with?" photo.jpg',
  notes: 'TF_BACKEND forces a backend (tfjs-node-gpu, tfjs-node, wasm, cpu).',
  options: {
    question: { type: 'string', required: true, description: 'the question' },
    model: { type: 'string', description: 'VQA model: a folder name under <models>/vqa', defaultText: 'VQA_DEFAULT_MODEL' },
    top_k: { type: 'string', flag: 'top-k', description: 'answers per image (1-20)' },
    models: { type: 'string', default: 'models', placeholder: 'dir', description: 'models folder' },
  },
  defaults: { top_k: DEFAULT_TOP_K },
  positionals: { name: 'images', usage: 'IMAGE…', description: 'image files', min: 1 },
});
// The question and top_k rules are the /vqa route's (src/vqa/question.ts).
const asked = z.object({ question: questionField, top_k: numberField(TOP_K, DEFAULT_TOP_K) }).parse(args);
const opts = { question: asked.question, topK: asked.top_k, model: args.model };

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
// Without --model: VQA_DEFAULT_MODEL, as the server does.
const service = await VqaService.load(args.models, { preferred: opts.model ?? loadConfig(process.env).VQA_DEFAULT_MODEL });
if (opts.model && !service.modelNames.includes(opts.model))
  throw new Error(`no VQA model ${opts.model}; have ${service.modelNames.join(', ')}`);
for (const file of args.images) {
  const result = await service.answer(await readFile(file), opts.question, { topK: opts.topK });
  console.log(JSON.stringify({ file, question: opts.question, backend, ...result }));
}
service.dispose();
