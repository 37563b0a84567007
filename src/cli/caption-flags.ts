import { loadCaptions, type CaptionedImage } from '../data/captions.js';

/** The flags both caption trainers (plain and grounded) take for their data. */
export const captionDataFlags = {
  train: { type: 'string', required: true, placeholder: 'file', description: 'training captions (COCO or Karpathy JSON)' },
  val: { type: 'string', required: true, placeholder: 'file', description: 'validation captions, for early stopping' },
  trainSplit: { type: 'string', default: 'train,restval', description: 'Karpathy splits used for training' },
  valSplit: { type: 'string', default: 'val', description: 'Karpathy splits used for validation' },
  valImages: { type: 'number', int: true, min: 1, description: 'validate on the first N val images only' },
} as const;

/** The decoder shape and batch flags both caption trainers take. */
export const captionDecoderFlags = {
  embedDim: { type: 'number', flag: 'embed', description: 'word embedding size' },
  hiddenDim: { type: 'number', flag: 'hidden', description: 'LSTM size' },
  dropout: { type: 'number', description: 'dropout rate' },
  minWordCount: { type: 'number', flag: 'min-count', description: 'words seen fewer times become <unk>' },
  maxWords: { type: 'number', description: 'longest training caption, in words' },
  batchSize: { type: 'number', description: 'captions per batch' },
} as const;

/** The train and val images the data flags name (val cut to --val-images). */
export async function loadCaptionSplits(args: {
  train: string;
  val: string;
  trainSplit: string;
  valSplit: string;
  valImages?: number;
}): Promise<{ train: CaptionedImage[]; val: CaptionedImage[] }> {
  const pick = (file: string, splits: string) => loadCaptions(file, splits.split(','));
  const train = await pick(args.train, args.trainSplit);
  const val = await pick(args.val, args.valSplit);
  return { train, val: args.valImages ? val.slice(0, args.valImages) : val };
}

/** The SCST fine-tuning flags of a caption trainer (`what`: the kind of model --init names). */
export function scstFlags(what: string) {
  return {
    scst: {
      type: 'number',
      int: true,
      min: 1,
      description: 'instead of training: fine-tune --init with SCST (CIDEr-D reward) for N iterations',
    },
    init: { type: 'string', placeholder: 'dir', description: `with --scst: the cross-entropy-trained ${what} to start from` },
    scstImages: { type: 'number', int: true, min: 1, default: 16, description: 'with --scst: training images per iteration' },
    scstSamples: { type: 'number', int: true, min: 2, default: 5, description: 'with --scst: captions sampled per image' },
    scstBaseline: { type: 'string', default: 'greedy', description: 'with --scst: greedy or mean (of the other samples)' },
    scstLr: { type: 'number', default: 5e-5, description: 'with --scst: Adam learning rate' },
  } as const;
}
