/**
 * Search over any token-by-token model (StepModel): greedy, beam search,
 * sampling with temperature and top-k. Above all models: captioning, char
 * generation and any later decoder use these and nothing else.
 */
export {
  runSearch,
  type Hypothesis,
  type Search,
  type SearchTokens,
  type StepCall,
  type StepModel,
  type StepResult,
} from './step-model.js';
export { runLockstep, type StackableStepModel } from './lockstep.js';
export { argmax, pickToken, sampleIndex, topIndices, type PickOptions } from './pick.js';
export {
  drawSteps,
  drawTokens,
  greedySearch,
  greedySteps,
  sampleSequences,
  sampleSteps,
  type DrawOptions,
  type DrawStep,
  type SamplingOptions,
} from './sampling.js';
export { beamSearch, beamSteps, bestExtensions, normalizedScore, type BeamOptions, type Extension, type ScoredHypothesis } from './beam.js';
export { constrainedBeamSearch, constrainedBeamSteps, MAX_CONSTRAINTS, type ConstrainedBeamOptions } from './constrained.js';
