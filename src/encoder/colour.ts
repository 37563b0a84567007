/**
 * A region's colour descriptor (issue 22): cheap, from the pixels the encoder
 * already holds, so a VQA model can say which object is red. Pure functions over
 * Float32Arrays: the same in training (region cache) and serving.
 *
 * Each box is read over its central part (COLOUR_INSET trimmed from every side:
 * a person's box is mostly shirt there, not background), on a grid of at most
 * COLOUR_SAMPLES × COLOUR_SAMPLES pixels, each converted sRGB → CIE Lab (D65):
 *
 *   [0, 3)    mean L/100, a/100, b/100
 *   [3, 6)    share of achromatic pixels (chroma < ACHROMATIC_CHROMA) that are dark (L < 30), grey, light (L ≥ 75)
 *   [6, 14)   share of chromatic pixels in each 45° hue sector of the a–b plane, anticlockwise from +a:
 *             red, orange, yellow, green, cyan, azure, blue, purple
 *
 * The 11 shares sum to 1. Pink is a light red and brown a dark orange: the mean L tells them apart.
 */

/** Length of a colour descriptor. */
export const COLOUR_DIM = 14;
/** Fraction of the box's width and height trimmed from each side before sampling. */
export const COLOUR_INSET = 0.2;
/** At most this many samples along each side of the box. */
export const COLOUR_SAMPLES = 24;
/** Below this chroma (√(a² + b²)) a pixel counts as black, grey or white. */
export const ACHROMATIC_CHROMA = 12;

/** One image's pixels: height × width × 3 RGB, 0..255, row-major (the encoders' input layout). */
export interface ImagePixels {
  data: Float32Array;
  height: number;
  width: number;
}

function linearOf(c: number): number {
  const v = c / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

/** linearOf at 0..255: decoded pixels are whole numbers, and the power is most of a pixel's cost. */
const LINEAR = Float64Array.from({ length: 256 }, (_, c) => linearOf(c));

function linear(c: number): number {
  return Number.isInteger(c) && c >= 0 && c <= 255 ? LINEAR[c]! : linearOf(c);
}

function labF(t: number): number {
  return t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 / 116) * t + 16 / 116;
}

/** sRGB 0..255 → CIE Lab under D65 (L 0..100), written into lab[0..3) (no allocation: boxColour calls it per pixel). */
function labInto(r: number, g: number, b: number, lab: Float64Array): void {
  const R = linear(r);
  const G = linear(g);
  const B = linear(b);
  const x = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / 0.95047;
  const y = 0.2126729 * R + 0.7151522 * G + 0.072175 * B;
  const z = (0.0193339 * R + 0.119192 * G + 0.9503041 * B) / 1.08883;
  const fx = labF(x);
  const fy = labF(y);
  const fz = labF(z);
  lab[0] = 116 * fy - 16;
  lab[1] = 500 * (fx - fy);
  lab[2] = 200 * (fy - fz);
}

/** sRGB 0..255 → CIE Lab under D65 (L 0..100). */
export function rgbToLab(r: number, g: number, b: number): [number, number, number] {
  const lab = new Float64Array(3);
  labInto(r, g, b, lab);
  return [lab[0]!, lab[1]!, lab[2]!];
}

/** The sample coordinates along one axis: up to COLOUR_SAMPLES pixel indices inside the inset span of [start, start + length). */
function samplesAlong(start: number, length: number, size: number): number[] {
  const lo = Math.min(Math.max(start + COLOUR_INSET * length, 0), 1) * size;
  const hi = Math.min(Math.max(start + (1 - COLOUR_INSET) * length, 0), 1) * size;
  const span = Math.max(hi - lo, 0);
  const n = Math.max(1, Math.min(COLOUR_SAMPLES, Math.round(span)));
  // Pixel centres spread evenly over the span; an empty span reads the pixel it lies in.
  return Array.from({ length: n }, (_, k) => Math.min(size - 1, Math.max(0, Math.floor(lo + ((k + 0.5) * span) / n))));
}

/** The colour descriptor [COLOUR_DIM] of one box [x, y, w, h] (fractions) of `image`. */
export function boxColour(image: ImagePixels, box: readonly [number, number, number, number]): Float32Array {
  const { data, height, width } = image;
  if (data.length !== height * width * 3) throw new Error(`boxColour: ${data.length} values are not ${height}×${width}×3 pixels`);
  const xs = samplesAlong(box[0], box[2], width);
  const ys = samplesAlong(box[1], box[3], height);
  const out = new Float32Array(COLOUR_DIM);
  const lab = new Float64Array(3);
  let n = 0;
  for (const y of ys) {
    for (const x of xs) {
      const at = (y * width + x) * 3;
      labInto(data[at]!, data[at + 1]!, data[at + 2]!, lab);
      const L = lab[0]!;
      const a = lab[1]!;
      const b = lab[2]!;
      out[0]! += L;
      out[1]! += a;
      out[2]! += b;
      if (Math.hypot(a, b) < ACHROMATIC_CHROMA) out[L < 30 ? 3 : L < 75 ? 4 : 5]! += 1;
      else {
        const angle = (Math.atan2(b, a) + 2 * Math.PI) % (2 * Math.PI);
        out[6 + Math.min(7, Math.floor(angle / (Math.PI / 4)))]! += 1;
      }
      n++;
    }
  }
  out[0] = out[0]! / (100 * n);
  out[1] = out[1]! / (100 * n);
  out[2] = out[2]! / (100 * n);
  for (let k = 3; k < COLOUR_DIM; k++) out[k] = out[k]! / n;
  return out;
}
