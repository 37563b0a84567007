import { CaptionOptionsSchema, type CaptionOptions } from '../../src/caption/options.js';

/** The caption options of a request that sets none. */
export const DEFAULT_CAPTION_OPTIONS: CaptionOptions = CaptionOptionsSchema.parse({});
