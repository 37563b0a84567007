import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

/**
 * Synthetic test pictures: a colour gradient with a few rectangles, so every
 * format has real structure to compress (no photos needed; tests never check
 * caption wording).
 */
export function scene(width = 160, height = 120, alpha = false): sharp.Sharp {
  const channels = alpha ? 4 : 3;
  const px = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      const inBox = x > width / 4 && x < width / 2 && y > height / 3 && y < (2 * height) / 3;
      const inSun = (x - 0.75 * width) ** 2 + (y - 0.25 * height) ** 2 < (height / 8) ** 2;
      px[i] = inBox ? 200 : inSun ? 250 : Math.round((255 * x) / width);
      px[i + 1] = inBox ? 30 : inSun ? 220 : Math.round((255 * y) / height);
      px[i + 2] = inBox ? 40 : inSun ? 60 : 140;
      if (alpha) px[i + 3] = x < width / 2 ? 255 : 96; // half translucent
    }
  }
  return sharp(px, { raw: { width, height, channels } });
}

export const jpeg = (w?: number, h?: number): Promise<Buffer> => scene(w, h).jpeg({ quality: 85 }).toBuffer();

/** Every input format the API claims, besides plain JPEG. */
export async function formatSamples(): Promise<Record<string, { body: Buffer; type: string }>> {
  const out: Record<string, { body: Buffer; type: string }> = {
    png_alpha: { body: await scene(120, 90, true).png().toBuffer(), type: 'image/png' },
    gif: { body: await scene(96, 72).gif().toBuffer(), type: 'image/gif' },
    webp: { body: await scene().webp().toBuffer(), type: 'image/webp' },
    tiff: { body: await scene().tiff().toBuffer(), type: 'image/tiff' },
    // Stored sideways: a viewer must rotate it 90° clockwise (EXIF orientation 6).
    jpeg_exif6: {
      body: await scene(120, 160).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
      type: 'image/jpeg',
    },
  };
  if (sharp.format.heif?.output.buffer) {
    try {
      out.avif = { body: await scene(64, 48).avif({ effort: 0 }).toBuffer(), type: 'image/avif' };
    } catch {
      // sharp built without an AV1 encoder: nothing to test.
    }
  }
  return out;
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/**
 * A small PNG whose IHDR declares width × height (valid CRCs, a little real
 * IDAT): what a decompression bomb or a thin image shows in its header.
 */
export function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(4096))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
