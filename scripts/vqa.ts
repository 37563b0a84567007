/**
 * Ask a question about image files from the command line (no server), printing JSON lines.
 *
 *   npx tsx scripts/vqa.ts --question "what is the man riding?" [--model easy-vqa] [--top-k 3] [--models models] IMAGE…
 *
 * TF_BACKEND forces a backend (tfjs-node-gpu, tfjs-node, wasm, cpu).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfig } from '../src/server/config.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { numberField } from '../src/util/option-fields.js';
import { DEFAULT_TOP_K, questionField, TOP_K } from '../src/vqa/question.js';
import { VqaService } from '../src/vqa/service.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    question: { type: 'string' },
    model: { type: 'string' },
    'top-k': { type: 'string', default: '3' },
    models: { type: 'string', default: 'models' },
  },
});
const opts = z
  .object({ question: questionField, model: z.string().optional(), topK: numberField(TOP_K, DEFAULT_TOP_K) })
  .parse({ question: values.question, model: values.model, topK: values['top-k'] });
if (positionals.length === 0) throw new Error('give one or more image files');

const backend = await initBackend(parseBackendName(process.env.TF_BACKEND));
// Without --model: VQA_DEFAULT_MODEL, as the server does.
const service = await VqaService.load(values.models, { preferred: opts.model ?? loadConfig(process.env).VQA_DEFAULT_MODEL });
if (opts.model && !service.modelNames.includes(opts.model)) throw new Error(`no VQA model ${opts.model}; have ${service.modelNames.join(', ')}`);
for (const file of positionals) {
  const result = await service.answer(await readFile(file), opts.question, { topK: opts.topK });
  console.log(JSON.stringify({ file, question: opts.question, backend, ...result }));
}
service.dispose();
