/**
 * Sample text from a trained char model.
 *
 * Options, limits and defaults are the /generate route's (src/char/options.ts);
 * without --seed one is drawn and printed, to get the same text again.
 * --temperature 0 picks the most likely character each step. --candidates N
 * prints, for each generated character, the N likeliest characters and their
 * probabilities. --eval FILE also reports the model's loss on that text
 * (nats/char, bits/char, perplexity).
 */
import { readFile } from 'node:fs/promises';
import { cli, UsageError } from '../src/cli/main.js';
import { pickValues, schemaOptions } from '../src/cli/schema-options.js';
import { CharModel } from '../src/char/model.js';
import { CharOptionsSchema, toCharSampleOptions } from '../src/char/options.js';
import { generate } from '../src/char/sample.js';
import { evaluate } from '../src/char/evaluate.js';
import { showChar, UnknownCharsError } from '../src/char/vocab.js';
import { initBackend, parseBackendName } from '../src/nn/backend.js';

const sampling = schemaOptions(CharOptionsSchema, {
  prime: 'text to continue ("\\n" for a newline); every character must be in the model\'s vocabulary',
  seed: 'PRNG seed; the same seed and options give the same text; random when absent, printed on stderr',
});
const args = cli({
  usage: 'npm run sample:char --',
  summary: 'Sample text from a trained char model.',
  example: 'npm run sample:char -- --prime "ROMEO:" --length 300 --temperature 0.8 --seed 7',
  options: {
    ...sampling.options,
    model: { type: 'string', default: 'models/char', placeholder: 'dir', description: 'char model folder' },
    eval: { type: 'string', placeholder: 'file', description: "also report the model's loss on this text (nats/char, perplexity)" },
  },
  defaults: sampling.defaults,
});
const wire = pickValues(args, Object.keys(sampling.options));
const opts = toCharSampleOptions(CharOptionsSchema.parse({ ...wire, prime: args.prime?.replace(/\\n/g, '\n') }));

await initBackend(parseBackendName(process.env.TF_BACKEND));
const model = await CharModel.load(args.model);
if (args.eval) {
  const ids = model.vocab.encode(await readFile(args.eval, 'utf8'));
  const r = evaluate(model, ids);
  process.stderr.write(
    `${args.eval}: ${r.nats.toFixed(4)} nats/char, ${r.bitsPerChar.toFixed(4)} bits/char, perplexity ${r.perplexity.toFixed(3)} over ${r.chars} chars\n`,
  );
}
try {
  model.vocab.encode(opts.prime); // checked before anything is printed
} catch (err) {
  throw err instanceof UnknownCharsError ? new UsageError(`--prime: ${err.message}`) : err;
}
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
