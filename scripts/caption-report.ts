/**
 * Print markdown tables from trained caption models' config.json files
 * (val scores, training history), for model cards and closing notes, so no
 * number is copied by hand.
 *
 *   npx tsx scripts/caption-report.ts DIR [DIR …]
 */
import { cli } from '../src/cli/main.js';
import { readCaptionConfig } from '../src/caption/config.js';
import type { CaptionScores } from '../src/eval/caption-metrics.js';

// Records from the old trainer (tokensPerSecond, bestEpoch) and from the shared loop (perSecond, best) both read.
interface History {
  epoch: number;
  loss: number;
  tokensPerSecond?: number;
  perSecond?: number;
  val: CaptionScores;
}
interface TrainingRecord {
  history?: History[];
  trainingSeconds?: number;
  bestEpoch?: number;
  best?: { epoch: number } | null;
  epochsRun?: number;
}

const args = cli({
  usage: 'npx tsx scripts/caption-report.ts',
  summary: "Print markdown tables (val scores, training history) from trained caption models' config.json files.",
  example: 'npx tsx scripts/caption-report.ts models/caption runs/caption-20250102-030405',
  options: {},
  positionals: { name: 'dirs', usage: 'DIR…', description: 'caption model folders', min: 1 },
});

const f = (x: number) => x.toFixed(3);
const row = (s: CaptionScores) => [s.bleu1, s.bleu2, s.bleu3, s.bleu4, s.rougeL, s.ciderD].map(f).join(' | ');

for (const dir of args.dirs) {
  const c = await readCaptionConfig(dir);
  const t = (c.training ?? {}) as TrainingRecord;
  console.log(
    `\n### ${dir}: encoder ${c.encoder} (${c.featureDim}-d), hidden ${c.hiddenDim}, embed ${c.embedDim}, vocab ${c.vocab.length}`,
  );
  console.log(`best epoch ${t.bestEpoch ?? t.best?.epoch} of ${t.epochsRun}, training ${((t.trainingSeconds ?? 0) / 60).toFixed(1)} min\n`);
  console.log('| epoch | train loss | tokens/s | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | ROUGE-L | CIDEr-D |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const h of t.history ?? [])
    console.log(`| ${h.epoch} | ${h.loss.toFixed(3)} | ${Math.round(h.tokensPerSecond ?? h.perSecond ?? NaN)} | ${row(h.val)} |`);
}
