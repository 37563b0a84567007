import { describe, expect, it } from 'vitest';
import { templateCaptioner } from '../../src/caption/captioner.js';
import { evaluateCaptions } from '../../src/caption/evaluate.js';
import { DEFAULT_CAPTION_SEARCH } from '../../src/caption/options.js';
import type { CaptionedImage } from '../../src/data/captions.js';
import type { FeatureSet } from '../../src/data/features.js';
import { COCO_LABELS, type DetectedObject } from '../../src/encoder/types.js';
import { scoreCaptions } from '../../src/eval/caption-metrics.js';

function object(label: (typeof COCO_LABELS)[number], score: number): DetectedObject {
  return { label, classId: COCO_LABELS.indexOf(label), score, box: [0.1, 0.1, 0.5, 0.5] };
}

describe('evaluateCaptions (cached features)', () => {
  // The detector template reads only detections, so a cache of them is a whole captioner input.
  const features: FeatureSet = {
    encoder: 'centernet',
    dim: 2,
    keys: ['dog.jpg', 'bus.jpg'],
    data: new Float32Array(4),
    detections: [[object('dog', 0.9)], [object('bus', 0.8), object('person', 0.05)]],
  };
  const images: CaptionedImage[] = [
    { id: 1, file: 'dog.jpg', captions: ['a dog runs on the grass', 'a brown dog playing'] },
    { id: 2, file: 'bus.jpg', captions: ['a red bus on a street', 'a bus parked by the road'] },
    { id: 3, file: 'missing.jpg', captions: ['not in the cache'] },
  ];

  it('captions every cached image once, skips the others and scores the captions against the references', async () => {
    const done: number[] = [];
    const out = await evaluateCaptions(templateCaptioner(), images, { kind: 'cache', features }, DEFAULT_CAPTION_SEARCH, (n) =>
      done.push(n),
    );
    expect(out.skipped).toBe(1);
    expect(out.results.map((r) => r.image_id)).toEqual([1, 2]);
    expect(out.results[0]!.caption).toMatch(/dog/);
    // The person scores below the template's threshold: not mentioned.
    expect(out.results[1]!.caption).toMatch(/bus/);
    expect(out.results[1]!.caption).not.toMatch(/person|man|woman|people/);
    expect(done).toEqual([1, 2]);
    const refs = new Map(images.slice(0, 2).map((img) => [img.id, img.captions]));
    const hyps = new Map(out.results.map((r) => [r.image_id, r.caption]));
    expect(out.scores).toEqual(scoreCaptions(refs, hyps));
  });
});
