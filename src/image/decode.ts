import sharp from 'sharp';

/** Limits on what a caller may send; defaults suit a photo API. */
export interface ImageLimits {
  /** Largest encoded upload in bytes. */
  maxBytes: number;
  /** Largest decoded image in pixels (width × height), checked before decoding. */
  maxPixels: number;
  /**
   * Largest ratio of the long side to the short one, checked before decoding.
   * Decoding cost grows with the image's thinness, not only its pixels: a
   * 1×4,000,000 PNG took 951 ms to decode against 22 ms for 2000×2000.
   */
  maxAspectRatio: number;
}

export const DEFAULT_LIMITS: ImageLimits = { maxBytes: 10 * 1024 * 1024, maxPixels: 40_000_000, maxAspectRatio: 20 };

export const SUPPORTED_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif'] as const;

export type ImageErrorCode =
  'empty_image' | 'image_too_large' | 'too_many_pixels' | 'bad_aspect_ratio' | 'unsupported_image' | 'corrupt_image';

/** An input problem the caller can fix; the HTTP layer maps it to a 4xx. */
export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
    readonly status: 400 | 413 | 415 | 422 = 400,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}

/** RGB pixels, row-major, 3 bytes per pixel. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface ImageInfo {
  format: string;
  width: number;
  height: number;
}

// sharp is told the pixel limit itself, so a decompression bomb is refused
// from its header instead of being decoded first.
function open(buf: Buffer, limits: ImageLimits): sharp.Sharp {
  return sharp(buf, { limitInputPixels: limits.maxPixels, failOn: 'error', animated: false, pages: 1 });
}

/**
 * Major brands of the ISO-BMFF images sharp reads through libheif: HEIC/HEIF
 * (still images and sequences) and AVIF.
 */
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs', 'mif1', 'msf1', 'avif', 'avis']);

/**
 * An ISO-BMFF image: the file opens with an `ftyp` box (a 32-bit size of at
 * least 16 bytes, the type at offset 4) whose major brand, at offset 8, is a
 * HEIF or AVIF brand. Checked exactly, so text that merely contains "ftyp"
 * (an SVG comment) is not taken for an image.
 */
function isHeif(buf: Buffer): boolean {
  if (buf.length < 16 || buf.toString('latin1', 4, 8) !== 'ftyp') return false;
  const size = buf.readUInt32BE(0);
  return size >= 16 && size % 4 === 0 && HEIF_BRANDS.has(buf.toString('latin1', 8, 12));
}

/** The container format from the first bytes, or undefined. */
export function sniffFormat(buf: Buffer): string | undefined {
  const ascii = (from: number, to: number) => buf.subarray(from, to).toString('latin1');
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (ascii(0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (['II*\0', 'MM\0*', 'II+\0', 'MM\0+'].includes(ascii(0, 4))) return 'tiff';
  if (isHeif(buf)) return 'heif'; // HEIC and AVIF share the ISO-BMFF container
  return undefined;
}

/**
 * Refuse empty, oversized or non-image bytes before they reach the decoder.
 * The magic-number check keeps formats we never meant to accept (SVG, whose
 * renderer can follow references) away from sharp.
 */
export function checkImageBytes(buf: Buffer, limits: ImageLimits): void {
  if (buf.length === 0) throw new ImageError('empty_image', 'the image is empty (0 bytes)');
  if (buf.length > limits.maxBytes) {
    throw new ImageError('image_too_large', `the image is ${buf.length} bytes; the limit is ${limits.maxBytes} bytes`, 413);
  }
  if (!sniffFormat(buf)) {
    throw new ImageError('unsupported_image', 'the upload is not a JPEG, PNG, WebP, GIF, TIFF, HEIF or AVIF image', 415);
  }
}

const FORMAT_NAMES: Readonly<Record<string, string>> = {
  jpeg: 'JPEG',
  png: 'PNG',
  webp: 'WebP',
  gif: 'GIF',
  tiff: 'TIFF',
  heif: 'HEIF/AVIF',
};

/**
 * The 422 for bytes whose magic number says image but which sharp cannot
 * read. sharp's own words ("Unknown error", "libspng read error", libheif's
 * lines of "bad seek") tell the caller nothing to do, so the message names the
 * format and the fix; sharp's text stays on the error as its cause (the
 * HTTP layer logs its first line as `detail`).
 */
function undecodable(buf: Buffer, cause: unknown): ImageError {
  const format = FORMAT_NAMES[sniffFormat(buf) ?? ''] ?? 'image';
  const e = new ImageError(
    'corrupt_image',
    `the image could not be decoded (a corrupt or truncated ${format}); send a complete JPEG, PNG, WebP, GIF, TIFF, HEIF or AVIF file`,
    422,
  );
  e.cause = cause;
  return e;
}

/** Check the bytes and header of an upload; throws ImageError naming the problem. */
export async function inspectImage(buf: Buffer, limits: ImageLimits = DEFAULT_LIMITS): Promise<ImageInfo> {
  checkImageBytes(buf, limits);
  let meta: sharp.Metadata;
  try {
    // Header only; without a pixel limit here, so that a header claiming
    // billions of pixels is refused below as too many pixels (413), not as corrupt.
    meta = await sharp(buf, { limitInputPixels: false }).metadata();
  } catch (err) {
    // The magic bytes said image: the rest of it is broken.
    throw undecodable(buf, err);
  }
  const format = meta.format ?? 'unknown';
  if (!(SUPPORTED_FORMATS as readonly string[]).includes(format)) {
    throw new ImageError('unsupported_image', `image format "${format}" is not supported`, 415);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width <= 0 || height <= 0) throw new ImageError('corrupt_image', 'the image has no pixels', 422);
  if (width * height > limits.maxPixels) {
    throw new ImageError(
      'too_many_pixels',
      `the image is ${width}x${height} = ${width * height} pixels; the limit is ${limits.maxPixels}`,
      413,
    );
  }
  checkAspectRatio(width, height, limits.maxAspectRatio);
  return { format, width, height };
}

function checkAspectRatio(width: number, height: number, maxRatio: number): void {
  if (Math.max(width, height) > maxRatio * Math.min(width, height)) {
    throw new ImageError(
      'bad_aspect_ratio',
      `the image is ${width}x${height}; the long side may be at most ${maxRatio} times the short one`,
      422,
    );
  }
}

/**
 * Decode any supported image to `size`×`size` RGB: EXIF orientation applied,
 * alpha flattened onto white, first frame of animations, stretched to the
 * square (the encoders were trained on stretched 224×224 Flickr8k images).
 */
export async function decodeToRgb(buf: Buffer, size: number, limits: ImageLimits = DEFAULT_LIMITS): Promise<RgbImage> {
  await inspectImage(buf, limits);
  try {
    const { data, info } = await open(buf, limits)
      .rotate()
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .resize(size, size, { fit: 'fill' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw undecodable(buf, err);
  }
}
