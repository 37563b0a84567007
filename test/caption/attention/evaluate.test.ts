import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttentionModel } from '../../../src/caption/attention/model.js';
import { loadCaptioner, type Captioner } from '../../../src/caption/captioner.js';
import { evaluateCaptions } from '../../../src/caption/evaluate.js';
import { DEFAULT_CAPTION_SEARCH } from '../../../src/caption/options.js';
import type { CaptionedImage } from '../../../src/data/captions.js';
import type { RegionSet } from '../../../src/data/regions.js';
import { regionDescriptors, regionDim } from '../../../src/encoder/regions.js';
import { initBackend } from '../../../src/nn/backend.js';
import { SPECIALS } from '../../../src/text/vocab.js';
import { rng } from '../../../src/util/random.js';
import { detection, GREY_IMAGE } from './fake-net.js';

const C = 4;
const R = regionDim(C);

describe('evaluateCaptions from a region cache (attention models)', () => {
  const detections = [[detection('dog', 0.9), detection('person', 0.3), detection('cat', 0.15)], [], [detection('cat', 0.8)]];
  const random = rng(3);
  const rows = detections.map((objects) => {
    const grid = Float32Array.from({ length: 3 * 3 * C }, () => random());
    return regionDescriptors(grid, 3, 3, C, objects, GREY_IMAGE);
  });
  const set: RegionSet = {
    encoder: 'mobilenet_v2+centernet',
    dim: R,
    grid: [3, 3, C],
    minScore: 0.1,
    maxRegions: 16,
    keys: ['dog.jpg', 'empty.jpg', 'cat.jpg'],
    detections,
    data: Float32Array.from(rows.flatMap((r) => Array.from(r))),
  };
  const images: CaptionedImage[] = [
    { id: 1, file: 'dog.jpg', captions: ['a dog and a man'] },
    { id: 2, file: 'missing.jpg', captions: ['not cached'] },
    { id: 3, file: 'empty.jpg', captions: ['grass'] },
    { id: 4, file: 'cat.jpg', captions: ['a cat sleeps'] },
  ];
  let dir: string;
  let captioner: Captioner;

  beforeAll(async () => {
    await initBackend();
    const model = AttentionModel.init(
      {
        kind: 'caption-attention',
        name: 'tiny-attention',
        version: 't',
        encoder: 'mobilenet_v2+centernet',
        regionDim: R,
        embedDim: 8,
        hiddenDim: 16,
        attendDim: 8,
        dropout: 0,
        maxWords: 8,
        maxRegions: 2,
        regionMinScore: 0.2,
        vocab: [...SPECIALS, 'a', 'dog', 'runs', 'cat', 'sleeps', 'man'],
      },
      5,
    );
    dir = await mkdtemp(path.join(os.tmpdir(), 'attention-eval-'));
    await model.save(dir);
    model.dispose();
    captioner = await loadCaptioner(dir);
  });

  afterAll(async () => {
    captioner?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it("captions each cached image from its detections and region rows, as the captioner does from the encoder's evidence", async () => {
    const done: number[] = [];
    const out = await evaluateCaptions(captioner, images, { kind: 'regions', regions: set }, DEFAULT_CAPTION_SEARCH, (n) => done.push(n));
    expect(out.skipped).toBe(1);
    expect(out.results.map((r) => r.image_id)).toEqual([1, 3, 4]);
    expect(done).toEqual([1, 3, 4]);
    const alone = [0, 1, 2].map(
      (i) => captioner.caption({ features: new Float32Array(0), objects: detections[i]!, regions: rows[i]! }, DEFAULT_CAPTION_SEARCH)[0]!,
    );
    expect(out.outputs).toEqual(alone);
    expect(out.results.map((r) => r.caption)).toEqual(alone.map((c) => c.text));
    for (const o of out.outputs) for (const w of o.words) expect(w.beta).toBeGreaterThan(0);
  });
});
