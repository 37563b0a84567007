/**
 * Join two feature caches column-wise (same images), for a combined encoder:
 *
 *   npx tsx scripts/combine-features.ts A.feat B.feat OUT.feat
 *
 * The result's encoder name is "A+B", which loadEncoder understands at serve time.
 */
import { cli } from '../src/cli/main.js';
import { prepareOutput } from '../src/cli/output.js';
import { concatFeatureSets, readFeatureSet, writeFeatureSet } from '../src/data/features.js';

const args = cli({
  usage: 'npx tsx scripts/combine-features.ts',
  summary: 'Join two feature caches column-wise (same images), for a combined encoder named "A+B".',
  example: 'npx tsx scripts/combine-features.ts .cache/x.mobilenet_v2.feat .cache/x.centernet.feat .cache/x.both.feat',
  options: {},
  positionals: { name: 'files', usage: 'A.feat B.feat OUT.feat', description: 'two feature caches and the file to write', min: 3, max: 3 },
});
const [a, b, out] = args.files as [string, string, string];
prepareOutput(out, 'file', 'OUT.feat');
const joined = concatFeatureSets(await readFeatureSet(a), await readFeatureSet(b));
await writeFeatureSet(out, joined);
console.log(`${out}: ${joined.encoder}, ${joined.keys.length} images × ${joined.dim}`);
