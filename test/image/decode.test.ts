import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkImageBytes, decodeToRgb, DEFAULT_LIMITS, ImageError, inspectImage, sniffFormat } from '../../src/image/decode.js';

/** Left half red, right half blue. */
async function halves(width: number, height: number): Promise<sharp.Sharp> {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) px.set(x < width / 2 ? [255, 0, 0] : [0, 0, 255], (y * width + x) * 3);
  return sharp(px, { raw: { width, height, channels: 3 } });
}

const pixel = (img: { data: Uint8Array; width: number }, x: number, y: number) => [
  ...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3),
];

async function expectImageError(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(ImageError);
  await expect(p).rejects.toMatchObject({ code });
}

describe('decodeToRgb', () => {
  it('applies EXIF orientation before resizing', async () => {
    // Orientation 6: the stored image must be turned 90° clockwise to display.
    const jpeg = await (await halves(40, 20)).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const img = await decodeToRgb(jpeg, 16);
    expect(img.width).toBe(16);
    const top = pixel(img, 8, 2);
    const bottom = pixel(img, 8, 13);
    expect(top[0]).toBeGreaterThan(200); // red now on top
    expect(bottom[2]).toBeGreaterThan(200); // blue below
  });

  it('flattens alpha onto white', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toBuffer();
    const img = await decodeToRgb(png, 4);
    expect(pixel(img, 1, 1)).toEqual([255, 255, 255]);
  });

  it('reads WebP, GIF, TIFF and AVIF', async () => {
    const base = sharp({ create: { width: 16, height: 12, channels: 3, background: { r: 10, g: 200, b: 30 } } });
    for (const fmt of ['webp', 'gif', 'tiff', 'avif'] as const) {
      const buf = await base.clone().toFormat(fmt).toBuffer();
      const img = await decodeToRgb(buf, 8);
      expect(img.data.length).toBe(8 * 8 * 3);
      expect(pixel(img, 4, 4)[1]).toBeGreaterThan(150);
    }
  });

  it('names each bad upload', async () => {
    await expectImageError(decodeToRgb(Buffer.alloc(0), 8), 'empty_image');
    await expectImageError(decodeToRgb(Buffer.from('definitely not an image'), 8), 'unsupported_image');
    const jpeg = await (await halves(64, 64)).jpeg().toBuffer();
    await expectImageError(decodeToRgb(jpeg.subarray(0, jpeg.length >> 1), 8), 'corrupt_image');
    await expectImageError(decodeToRgb(jpeg, 8, { maxBytes: 100, maxPixels: 1e6, maxAspectRatio: 20 }), 'image_too_large');
    await expectImageError(inspectImage(jpeg, { maxBytes: 1e6, maxPixels: 1000, maxAspectRatio: 20 }), 'too_many_pixels');
  });
});

const flat = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 90, g: 140, b: 200 } } })
    .png()
    .toBuffer();

/** A JPEG whose header claims width × height (the SOF0 frame is patched; the data stays tiny). */
async function jpegClaiming(width: number, height: number): Promise<Buffer> {
  const jpeg = Buffer.from(
    await sharp({ create: { width: 8, height: 8, channels: 3, background: 'gray' } })
      .jpeg()
      .toBuffer(),
  );
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  expect(sof).toBeGreaterThan(0);
  jpeg.writeUInt16BE(height, sof + 5);
  jpeg.writeUInt16BE(width, sof + 7);
  return jpeg;
}

describe('decoding cost is bounded before decoding', () => {
  it('refuses images thinner than maxAspectRatio (either way), from the header', async () => {
    const tall = await flat(1, 100_000); // 100k pixels, but one row per pixel
    await expectImageError(inspectImage(tall), 'bad_aspect_ratio');
    await expect(inspectImage(tall)).rejects.toMatchObject({ status: 422 });
    await expectImageError(inspectImage(await flat(401, 20)), 'bad_aspect_ratio');
    await expectImageError(decodeToRgb(await flat(20, 401), 8), 'bad_aspect_ratio');
  });

  it('keeps panoramas up to the ratio, in both orientations', async () => {
    for (const [w, h] of [
      [400, 20],
      [20, 400],
      [300, 200],
    ] as const) {
      expect((await decodeToRgb(await flat(w, h), 8)).data.length).toBe(8 * 8 * 3);
    }
  });

  it('a header claiming billions of pixels is too many pixels (413), not a corrupt image', async () => {
    const bomb = await jpegClaiming(65_000, 65_000);
    await expectImageError(inspectImage(bomb), 'too_many_pixels');
    await expect(inspectImage(bomb)).rejects.toMatchObject({ status: 413 });
    await expectImageError(decodeToRgb(bomb, 8), 'too_many_pixels');
  });
});

describe('sniffFormat', () => {
  it('takes HEIF/AVIF only from an ftyp box with a known brand at offset 4', async () => {
    const avif = await sharp({ create: { width: 16, height: 16, channels: 3, background: 'gray' } })
      .avif({ effort: 0 })
      .toBuffer();
    expect(sniffFormat(avif)).toBe('heif');
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic\0\0\0\0mif1heic', 'latin1')]);
    expect(sniffFormat(heic)).toBe('heif');
    const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom\0\0\0\0isomavc1', 'latin1')]);
    expect(sniffFormat(mp4)).toBeUndefined();
  });

  it('an SVG with "ftyp" at bytes 4-7 is refused before any decoder sees it', () => {
    const svg = Buffer.from('<!--ftyp--><svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>');
    expect(sniffFormat(svg)).toBeUndefined();
    expect(() => checkImageBytes(svg, DEFAULT_LIMITS)).toThrow(ImageError);
    expect(() => checkImageBytes(svg, DEFAULT_LIMITS)).toThrow(/not a JPEG/);
  });
});
