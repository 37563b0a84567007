import { describe, expect, it } from 'vitest';
import { concatFeatureSets, decodeFeatureSet, encodeFeatureSet, featureRow } from '../../src/data/features.js';

const set = { encoder: 'enc', dim: 3, keys: ['a.jpg', 'b.jpg'], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) };

describe('feature cache', () => {
  it('round-trips through its binary layout', () => {
    const back = decodeFeatureSet(encodeFeatureSet(set));
    expect(back.encoder).toBe('enc');
    expect(back.keys).toEqual(set.keys);
    expect([...featureRow(back, 1)]).toEqual([4, 5, 6.5]);
  });

  it('refuses foreign and truncated files with a message', () => {
    expect(() => decodeFeatureSet(Buffer.from('hello world, not features'))).toThrow(/not a captioner feature cache/);
    const buf = encodeFeatureSet(set);
    expect(() => decodeFeatureSet(buf.subarray(0, buf.length - 4))).toThrow(/truncated/);
  });

  it('concatenates two encoders over shared keys', () => {
    const other = { encoder: 'det', dim: 1, keys: ['b.jpg', 'c.jpg'], data: Float32Array.from([9, 8]) };
    const joined = concatFeatureSets(set, other);
    expect(joined.encoder).toBe('enc+det');
    expect(joined.keys).toEqual(['b.jpg']);
    expect([...joined.data]).toEqual([4, 5, 6.5, 9]);
  });
});
