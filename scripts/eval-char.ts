/**
 * Score a char-level model on the val and test splits of its corpus (the same
 * 90/5/5 split by position as training), in nats/char, bits/char and perplexity,
 * and record them in the model's config.json (metrics.val, metrics.test).
 *
 *   npx tsx scripts/eval-char.ts --text ../shared/data/text/tinyshakespeare.txt [--model models/char]
 */
import { readFile } from 'node:fs/promises';
import { cli } from '../src/cli/main.js';
import { splitText } from '../src/char/data.js';
import { CharModel } from '../src/char/model.js';
import { evaluate } from '../src/char/evaluate.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const args = cli({
  usage: 'npx tsx scripts/eval-char.ts',
  summary: "Score a char model on its corpus's val and test splits (nats/char, bits/char, perplexity) and record them in its config.json.",
  example: 'npx tsx scripts/eval-char.ts --text ../shared/data/text/tinyshakespeare.txt --model models/char',
  options: {
    text: { type: 'string', required: true, placeholder: 'file', description: 'the training corpus (split 90/5/5 as in training)' },
    model: { type: 'string', default: 'models/char', placeholder: 'dir', description: 'char model folder' },
  },
});
await initBackend(parseBackendName(process.env.TF_BACKEND));
const model = await CharModel.load(args.model);
const splits = splitText(await readFile(args.text, 'utf8'));
const val = evaluate(model, model.vocab.encode(splits.val));
const test = evaluate(model, model.vocab.encode(splits.test));
await model.save(args.model, { metrics: { val, test } });
console.log(JSON.stringify({ val, test }, null, 1));
