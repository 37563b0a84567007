import { describe, expect, it } from 'vitest';
import { concatFeatureSets, decodeFeatureSet, encodeFeatureSet, featureRow, withClassScores } from '../../src/data/features.js';
import { classScores } from '../../src/grounding/entries.js';

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

  it('stores detections next to the features (version 2) and still reads version 1 caches', () => {
    const detections = [[{ label: 'dog', classId: 16, score: 0.5, box: [0.1, 0.2, 0.3, 0.4] as [number, number, number, number] }], []];
    const buf = encodeFeatureSet({ ...set, detections });
    const back = decodeFeatureSet(buf);
    expect(back.detections).toEqual(detections);
    expect([...featureRow(back, 1)]).toEqual([4, 5, 6.5]);
    const headerLen = buf.readUInt32LE(8);
    expect(JSON.parse(buf.subarray(12, 12 + headerLen).toString('utf8'))).toMatchObject({ version: 2 });

    // A cache written before detections existed: header {encoder, dim, keys}, no version.
    const header = Buffer.from(JSON.stringify({ encoder: 'enc', dim: 3, keys: set.keys }));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length);
    const old = Buffer.concat([Buffer.from('CAPFEAT1'), len, header, Buffer.from(set.data.buffer)]);
    const read = decodeFeatureSet(old);
    expect(read.detections).toBeUndefined();
    expect([...read.data]).toEqual([...set.data]);
    expect(encodeFeatureSet(read).equals(old)).toBe(true);
  });

  it('refuses detections that do not match the keys or name no class', () => {
    expect(() => encodeFeatureSet({ ...set, detections: [[]] })).toThrow(/detections for 1 images; expected 2/);
    const bad = { version: 2, encoder: 'enc', dim: 3, keys: set.keys, detections: [[[80, 0.5, 0, 0, 1, 1]], []] };
    const header = Buffer.from(JSON.stringify(bad));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length);
    expect(() => decodeFeatureSet(Buffer.concat([Buffer.from('CAPFEAT1'), len, header, Buffer.from(set.data.buffer)]), 'x.feat')).toThrow(
      /^x\.feat is not a valid feature cache header: detections\.0\.0\.0/,
    );
  });

  it('keeps detections when concatenating', () => {
    const detections = [[], [{ label: 'cat', classId: 15, score: 0.7, box: [0, 0, 1, 1] as [number, number, number, number] }]];
    const other = { encoder: 'det', dim: 1, keys: ['b.jpg', 'c.jpg'], data: Float32Array.from([9, 8]), detections };
    expect(concatFeatureSets(set, other).detections).toEqual([detections[0]]);
    expect(concatFeatureSets(set, { ...other, detections: undefined }).detections).toBeUndefined();
  });
});

describe('withClassScores', () => {
  it('appends each image’s per-class best detection score (d) to its row', () => {
    const set = {
      encoder: 'fake',
      dim: 2,
      keys: ['a', 'b'],
      data: Float32Array.from([1, 2, 3, 4]),
      detections: [
        [
          { label: 'dog', classId: 16, score: 0.4, box: [0, 0, 1, 1] as [number, number, number, number] },
          { label: 'dog', classId: 16, score: 0.7, box: [0, 0, 1, 1] as [number, number, number, number] },
        ],
        [],
      ],
    };
    const out = withClassScores(set, classScores);
    expect(out.dim).toBe(82);
    expect(Array.from(featureRow(out, 0).subarray(0, 2))).toEqual([1, 2]);
    expect(featureRow(out, 0)[2 + 16]).toBeCloseTo(0.7);
    expect(featureRow(out, 0).reduce((a, b) => a + b, 0)).toBeCloseTo(3.7);
    expect(Array.from(featureRow(out, 1))).toEqual([3, 4, ...new Array<number>(80).fill(0)]);
    expect(() => withClassScores({ ...set, detections: undefined }, classScores)).toThrow(/--detections/);
  });
});
