import { describe, expect, it } from 'vitest';
import { bestIndex, curvesSvg, describeCurves, niceTicks, trainingCurves } from '../../src/report/curves.js';
import { withCurvesLink } from '../../src/report/model-card.js';

// The three record shapes the shipped configs hold: caption (loss, val.ciderD), vqa (loss, val.accuracy),
// char before the shared loop (trainLoss, val.nats).
const caption = { history: [1, 2, 3].map((epoch) => ({ epoch, loss: 5 - epoch, val: { bleu4: 0.1, ciderD: 0.1 * epoch } })) };
const vqa = {
  history: [
    { epoch: 1, loss: 2, val: { accuracy: 0.3, byType: {} } },
    { epoch: 2, loss: 1, val: { accuracy: 0.25 } },
  ],
};
const char = {
  history: [
    { epoch: 1, trainLoss: 2.5, val: { nats: 2 } },
    { epoch: 2, trainLoss: 1.8, val: { nats: 1.7 } },
  ],
};

describe('trainingCurves', () => {
  it('reads loss and the val metric each trainer records', () => {
    const c = trainingCurves(caption)!;
    expect(c.loss.points).toEqual([
      [1, 4],
      [2, 3],
      [3, 2],
    ]);
    expect(c.val.label).toBe('val CIDEr-D');
    expect(c.val.points.map((p) => p[1])).toEqual([0.1, 0.2, 0.1 * 3]);
    expect(trainingCurves(vqa)!.val).toMatchObject({ label: 'val accuracy', higherIsBetter: true });
    expect(trainingCurves(char)).toMatchObject({
      loss: {
        points: [
          [1, 2.5],
          [2, 1.8],
        ],
      },
      val: { label: 'val nats/char', higherIsBetter: false },
    });
  });

  it('is undefined without a usable history', () => {
    for (const t of [undefined, {}, { history: [] }, { history: 'x' }, { history: [{ epoch: 1, loss: 1, val: { other: 1 } }] }]) {
      expect(trainingCurves(t)).toBeUndefined();
    }
  });

  it('the best point follows the metric direction', () => {
    expect(bestIndex(trainingCurves(vqa)!.val)).toBe(0);
    expect(bestIndex(trainingCurves(char)!.val)).toBe(1);
    expect(bestIndex({ label: 'x', points: [], higherIsBetter: true })).toBe(-1);
  });
});

describe('niceTicks', () => {
  it('round steps covering the range', () => {
    expect(niceTicks(0.238, 0.369, 4)).toEqual([0.25, 0.3, 0.35]);
    expect(niceTicks(1, 15, 6)).toEqual([5, 10, 15]);
    expect(niceTicks(2, 2)).toEqual([2]);
  });
});

describe('curvesSvg', () => {
  it('one polyline per series with a point per epoch, titled and described', () => {
    const c = trainingCurves(caption)!;
    const svg = curvesSvg(c, 'caption <model> & co');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('<title>caption &#60;model&#62; &#38; co</title>');
    expect(svg).toContain(`<desc>${describeCurves(c)}</desc>`);
    const polylines = [...svg.matchAll(/<polyline points="([^"]+)"/g)].map((m) => m[1]!.split(' '));
    expect(polylines.map((p) => p.length)).toEqual([3, 3]);
    // Loss falls: its y (SVG grows downwards) rises; CIDEr-D rises: its y falls.
    const ys = polylines.map((p) => p.map((xy) => Number(xy.split(',')[1])));
    expect(ys[0]![0]).toBeLessThan(ys[0]![2]!);
    expect(ys[1]![0]).toBeGreaterThan(ys[1]![2]!);
    expect(describeCurves(c)).toContain('val CIDEr-D 0.1 at epoch 1 to 0.3 at epoch 3, best 0.3 at epoch 3.');
  });
});

describe('withCurvesLink', () => {
  it('links under the Training heading once', () => {
    const card = '# m\n\n## Training\n\ntext\n';
    const linked = withCurvesLink(card, 'curves [of] m');
    expect(linked).toBe('# m\n\n## Training\n\n![curves of m](curves.svg)\n\ntext\n');
    expect(withCurvesLink(linked, 'other')).toBe(linked);
  });

  it('appends a section to a card without one', () => {
    expect(withCurvesLink('# m\n\ntext\n\n', 'c')).toBe('# m\n\ntext\n\n## Training curves\n\n![c](curves.svg)\n');
  });
});
