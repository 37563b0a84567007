/**
 * Search over any token-by-token model (StepModel): greedy, beam search,
 * sampling with temperature and top-k. Above all models: captioning, char
 * generation and any later decoder use these and nothing else.
 */
export type { Hypothesis, SearchTokens, StepModel } from './step-model.js';
export { argmax, pickToken, sampleIndex, topIndices, type PickOptions } from './pick.js';
export { drawTokens, greedySearch, sampleSequences, type DrawOptions, type DrawStep, type SamplingOptions } from './sampling.js';
export { beamSearch, bestExtensions, normalizedScore, type BeamOptions, type Extension, type ScoredHypothesis } from './beam.js';
export { constrainedBeamSearch, MAX_CONSTRAINTS, type ConstrainedBeamOptions } from './constrained.js';
