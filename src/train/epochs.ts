/** Bookkeeping shared by the epoch loops of the trainers. */
export interface EpochState {
  epoch: number;
  bestEpoch: number;
  elapsedSeconds: number;
  history: unknown[];
}

/** Why training should stop after this epoch, or undefined to go on. */
export function stopReason(state: EpochState, opts: { patience: number; maxMinutes: number }): string | undefined {
  if (state.epoch - state.bestEpoch >= opts.patience) return `no better val score for ${opts.patience} epochs (best: epoch ${state.bestEpoch})`;
  if (state.elapsedSeconds / 60 >= opts.maxMinutes) return `time budget of ${opts.maxMinutes} min reached`;
  return undefined;
}

/** How a model was trained, saved in its config.json beside the weights. */
export function trainingRecord(opts: { maxMinutes: number }, state: EpochState, examples: number): Record<string, unknown> {
  return {
    options: { ...opts, maxMinutes: Number.isFinite(opts.maxMinutes) ? opts.maxMinutes : null },
    examples,
    epochsRun: state.epoch,
    bestEpoch: state.bestEpoch,
    trainingSeconds: Math.round(state.elapsedSeconds),
    machine: `${process.platform}/${process.arch}`,
    history: state.history,
  };
}
