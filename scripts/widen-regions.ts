/**
 * Issue 21's grid screen: add CenterNet's backbone grid (7×7×480 at 224, COCO-trained) to a region
 * cache, pooled in the same boxes as the cache's MobileNetV2 grid, so an attention decoder can be
 * trained on both grids and compared with one trained on MobileNetV2's alone:
 *
 *   npx tsx scripts/widen-regions.ts --regions .cache/flickr8k.regions --images ../shared/data/flickr8k/images \
 *     --out .cache/flickr8k.2grid.regions
 *
 * CenterNet runs on tfjs here (its ONNX graph averages the grid inside), on the pixels the serving
 * encoder sees (decodeToRgb at 224). The result names its encoder "<encoder>+centernet-grid", which no
 * server loads: serving both grids would need the ONNX export to give the grid first.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { cli } from '../src/cli/main.js';
import { progress } from '../src/cli/progress.js';
import { readRegionSet, widenRegionSet, writeRegionSet } from '../src/data/regions.js';
import { loadCenterNet } from '../src/encoder/centernet.js';
import { rgbBatch } from '../src/encoder/pixels.js';
import { decodeToRgb } from '../src/image/decode.js';
import { initBackend } from '../src/nn/backend.js';

const args = cli({
  usage: 'npx tsx scripts/widen-regions.ts',
  summary: "Add CenterNet's backbone grid, pooled in each region's box, to a region cache (issue 21's grid screen).",
  example:
    'npx tsx scripts/widen-regions.ts --regions .cache/coco-dev.regions --images ../shared/data/coco-dev/images --out .cache/coco-dev.2grid.regions',
  options: {
    regions: { type: 'string', required: true, placeholder: 'file', description: 'region cache to widen (npm run features -- --regions)' },
    images: { type: 'string', required: true, placeholder: 'dir', description: 'the folder of the images the cache was made from' },
    out: { type: 'string', required: true, output: 'file', description: 'region cache to write' },
  },
});

await initBackend();
const set = await readRegionSet(args.regions);
const centernet = await loadCenterNet();
const bar = progress('widen regions', set.keys.length, 15);
try {
  const wide = await widenRegionSet(
    set,
    `${set.encoder}+centernet-grid`,
    async (i) => {
      const x = rgbBatch(await decodeToRgb(await readFile(path.join(args.images, set.keys[i]!)), centernet.inputSize));
      try {
        return await centernet.encodeWithGrid!(x);
      } finally {
        x.dispose();
      }
    },
    (done) => bar.update(done),
  );
  await writeRegionSet(args.out, wide);
  bar.stop();
  console.log(`${args.out}: ${wide.encoder}, ${wide.keys.length} images, regions of ${wide.dim} (grid ${wide.grid.join('×')})`);
} finally {
  centernet.dispose();
}
