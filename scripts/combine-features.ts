/**
 * Join two feature caches column-wise (same images), for a combined encoder:
 *
 *   npx tsx scripts/combine-features.ts A.feat B.feat OUT.feat
 *
 * The result's encoder name is "A+B", which loadEncoder understands at serve time.
 */
import { concatFeatureSets, readFeatureSet, writeFeatureSet } from '../src/data/features.js';

const [a, b, out] = process.argv.slice(2);
if (!a || !b || !out) throw new Error('usage: combine-features A.feat B.feat OUT.feat');
const joined = concatFeatureSets(await readFeatureSet(a), await readFeatureSet(b));
await writeFeatureSet(out, joined);
console.log(`${out}: ${joined.encoder}, ${joined.keys.length} images × ${joined.dim}`);
