/**
 * Training curves (train loss and the val metric per epoch) as SVG beside each
 * model card, drawn from config.json's training.history by the same module the
 * page's models view uses (src/report/curves.ts); each card gets an image link.
 *
 *   npm run report [-- --models models]
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cli } from '../src/cli/main.js';
import { curvesSvg, describeCurves, trainingCurves } from '../src/report/curves.js';
import { CURVES_FILE, modelCardDirs, readTraining, withCurvesLink } from '../src/report/model-card.js';

const args = cli({
  usage: 'npm run report --',
  summary: 'Write training curves (SVG) beside every model card under a models folder and link them from the cards.',
  example: 'npm run report -- --models models',
  options: {
    models: {
      type: 'string',
      default: 'models',
      placeholder: 'dir',
      description: 'folder searched for model folders (config.json + README.md)',
    },
  },
});

for (const dir of await modelCardDirs(args.models)) {
  const { name, training } = await readTraining(dir);
  const curves = trainingCurves(training);
  if (!curves) {
    console.log(`${dir}: no training history, skipped`);
    continue;
  }
  await writeFile(path.join(dir, CURVES_FILE), curvesSvg(curves, `${name}: training curves`));
  const cardFile = path.join(dir, 'README.md');
  const card = await readFile(cardFile, 'utf8');
  const linked = withCurvesLink(card, `Training curves of ${name}: ${curves.loss.label} and ${curves.val.label} per epoch`);
  if (linked !== card) await writeFile(cardFile, linked);
  console.log(`${path.join(dir, CURVES_FILE)}: ${describeCurves(curves)}`);
}
