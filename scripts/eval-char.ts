/**
 * Score a char-level model on the val and test splits of its corpus (the same
 * 90/5/5 split by position as training), in nats/char, bits/char and perplexity,
 * and record them in the model's config.json (metrics.val, metrics.test).
 *
 *   npx tsx scripts/eval-char.ts --text ../shared/data/text/tinyshakespeare.txt [--model models/char]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { splitText } from '../src/char/data.js';
import { CharModel } from '../src/char/model.js';
import { evaluate } from '../src/char/evaluate.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const { values } = parseArgs({ options: { text: { type: 'string' }, model: { type: 'string', default: 'models/char' } } });
if (!values.text) throw new Error('--text FILE (the training corpus) is required');
await initBackend(parseBackendName(process.env.TF_BACKEND));
const model = await CharModel.load(values.model);
const splits = splitText(await readFile(values.text, 'utf8'));
const val = evaluate(model, model.vocab.encode(splits.val));
const test = evaluate(model, model.vocab.encode(splits.test));
await model.save(values.model, { metrics: { val, test } });
console.log(JSON.stringify({ val, test }, null, 1));
