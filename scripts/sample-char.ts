/**
 * Sample text from a trained char model.
 *
 *   npm run sample:char -- [--model models/char] [--prime "ROMEO:"] [--length 200] \
 *     [--temperature 0.8] [--top-k 0] [--seed N] [--candidates 3] [--eval FILE]
 *
 * Options, limits and defaults are the /generate route's (src/char/options.ts);
 * without --seed one is drawn and printed, to get the same text again.
 * --temperature 0 picks the most likely character each step. --candidates N
 * prints, for each generated character, the N likeliest characters and their
 * probabilities. --eval FILE also reports the model's loss on that text
 * (nats/char, bits/char, perplexity).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CharModel } from '../src/char/model.js';
import { CharOptionsSchema, toCharSampleOptions } from '../src/char/options.js';
import { generate } from '../src/char/sample.js';
import { evaluate } from '../src/char/evaluate.js';
import { showChar, UnknownCharsError } from '../src/char/vocab.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';
import { formatZodError } from '../src/util/zod-error.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/char' },
    prime: { type: 'string' },
    length: { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    seed: { type: 'string' },
    candidates: { type: 'string' },
    eval: { type: 'string' },
  },
});
const parsed = CharOptionsSchema.safeParse({
  prime: values.prime?.replace(/\\n/g, '\n'),
  length: values.length,
  temperature: values.temperature,
  top_k: values['top-k'],
  seed: values.seed,
  candidates: values.candidates,
});
if (!parsed.success) {
  console.error(formatZodError(parsed.error));
  process.exit(2);
}
const opts = toCharSampleOptions(parsed.data);

await initBackend(parseBackendName(process.env.TF_BACKEND));
const model = await CharModel.load(values.model!);
if (values.eval) {
  const ids = model.vocab.encode(await readFile(values.eval, 'utf8'));
  const r = evaluate(model, ids);
  process.stderr.write(`${values.eval}: ${r.nats.toFixed(4)} nats/char, ${r.bitsPerChar.toFixed(4)} bits/char, perplexity ${r.perplexity.toFixed(3)} over ${r.chars} chars\n`);
}
try {
  const t0 = performance.now();
  let n = 0;
  process.stdout.write(opts.prime);
  for (const step of generate(model, opts)) {
    n++;
    if (opts.candidates > 0) {
      const top = step.top!.map((c) => `${showChar(c.char)} ${c.prob.toFixed(3)}`).join('  ');
      process.stdout.write(`${showChar(step.char).padEnd(6)} | ${top}\n`);
    } else process.stdout.write(step.char);
  }
  const s = (performance.now() - t0) / 1000;
  process.stdout.write('\n');
  process.stderr.write(`${n} chars in ${s.toFixed(2)} s (${Math.round(n / s)} chars/s), seed ${opts.seed}\n`);
} catch (err) {
  if (err instanceof UnknownCharsError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
