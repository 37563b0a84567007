import { describe, expect, it } from 'vitest';
import { boxColour, COLOUR_DIM, rgbToLab, type ImagePixels } from '../../src/encoder/colour.js';

type Rgb = [number, number, number];

/** A W×H photo of `background` with rectangles painted in (fractions of the image). */
function paint(width: number, height: number, background: Rgb, rects: { box: [number, number, number, number]; rgb: Rgb }[]): ImagePixels {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let c = background;
      for (const r of rects) {
        const [bx, by, bw, bh] = r.box;
        if (x >= bx * width && x < (bx + bw) * width && y >= by * height && y < (by + bh) * height) c = r.rgb;
      }
      data.set(c, (y * width + x) * 3);
    }
  return { data, height, width };
}

const BINS = ['dark', 'grey', 'light', 'red', 'orange', 'yellow', 'green', 'cyan', 'azure', 'blue', 'purple'] as const;

/** The name of the largest colour share. */
function dominant(d: Float32Array): string {
  const shares = [...d.subarray(3)];
  return BINS[shares.indexOf(Math.max(...shares))]!;
}

describe('rgbToLab', () => {
  it('matches CIE Lab (D65) reference values', () => {
    const near = (got: number[], want: number[]) => got.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 0));
    near(rgbToLab(255, 255, 255), [100, 0, 0]);
    near(rgbToLab(0, 0, 0), [0, 0, 0]);
    near(rgbToLab(255, 0, 0), [53.24, 80.09, 67.2]);
    near(rgbToLab(0, 0, 255), [32.3, 79.19, -107.86]);
    near(rgbToLab(0, 255, 0), [87.73, -86.18, 83.18]);
  });
});

describe('boxColour', () => {
  const red: Rgb = [220, 20, 30];
  const blue: Rgb = [20, 40, 200];
  const photo = paint(
    64,
    48,
    [128, 128, 128],
    [
      { box: [0.05, 0.1, 0.4, 0.5], rgb: red },
      { box: [0.55, 0.3, 0.4, 0.6], rgb: blue },
    ],
  );

  it('names the colour of the box it reads, not of the photo or the other box', () => {
    const r = boxColour(photo, [0.05, 0.1, 0.4, 0.5]);
    const b = boxColour(photo, [0.55, 0.3, 0.4, 0.6]);
    expect(r.length).toBe(COLOUR_DIM);
    expect(dominant(r)).toBe('red');
    expect(dominant(b)).toBe('blue');
    expect(r[1]).toBeGreaterThan(0.5); // a* of red is about +0.7 (scaled by 1/100)
    expect(b[2]).toBeLessThan(-0.5); // b* of blue is strongly negative
    expect(dominant(boxColour(photo, [0, 0, 1, 1]))).toBe('grey');
  });

  it('reads the centre: a box drawn loosely around an object (background at the edges) still gets its colour', () => {
    // The red rectangle fills the middle 60% of this box; the inset keeps the grey margin out.
    const loose = boxColour(photo, [0.05 - 0.4 * 0.2, 0.1 - 0.5 * 0.2, 0.4 * 1.4, 0.5 * 1.4]);
    expect(loose[3 + 3]).toBeGreaterThan(0.9); // red share
  });

  it('tells black, grey and white apart, and its shares sum to 1', () => {
    for (const [rgb, name] of [
      [[10, 10, 10], 'dark'],
      [[128, 128, 128], 'grey'],
      [[245, 245, 245], 'light'],
      [[240, 220, 30], 'yellow'],
      [[30, 160, 40], 'green'],
    ] as [Rgb, string][]) {
      const d = boxColour(paint(16, 16, rgb, []), [0.25, 0.25, 0.5, 0.5]);
      expect(dominant(d), name).toBe(name);
      expect(d.subarray(3).reduce((a, v) => a + v, 0)).toBeCloseTo(1, 6);
    }
  });

  it('reads degenerate and outside boxes without throwing, and rejects pixels of the wrong size', () => {
    expect(boxColour(photo, [0.2, 0.2, 0, 0]).every(Number.isFinite)).toBe(true);
    expect(boxColour(photo, [1.5, 1.5, 0.2, 0.2]).every(Number.isFinite)).toBe(true);
    expect(() => boxColour({ data: new Float32Array(5), height: 2, width: 2 }, [0, 0, 1, 1])).toThrow(/2×2×3/);
  });
});
