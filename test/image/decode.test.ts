import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeToRgb, ImageError, inspectImage } from '../../src/image/decode.js';

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
    await expectImageError(decodeToRgb(jpeg, 8, { maxBytes: 100, maxPixels: 1e6 }), 'image_too_large');
    await expectImageError(inspectImage(jpeg, { maxBytes: 1e6, maxPixels: 1000 }), 'too_many_pixels');
  });
});
