import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend, parseBackendName } from '../../src/nn/backend.js';
import { restoreVariables, saveModelDir } from '../../src/nn/io.js';
import { trainLoop, type LoopOptions, type TrainableModel, type TrainTask } from '../../src/train/loop.js';
import { createOptimizer, type ScheduledOptimizer } from '../../src/train/optimizer.js';

let tmp: string;
let n = 0;
beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  tmp = await mkdtemp(path.join(os.tmpdir(), 'loop-test-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const dirsIn = (name = `run${n++}`) => ({ outDir: path.join(tmp, name, 'best'), checkpointDir: path.join(tmp, name, 'ck'), resume: false });

/** A two-weight model saved like the real ones (model folder with config.json). */
class FakeModel implements TrainableModel {
  config: { metrics?: Record<string, unknown> } = {};
  readonly w = tf.tidy(() => tf.variable(tf.tensor1d([0, 0])));

  async save(dir: string, extra: { training?: Record<string, unknown>; metrics?: Record<string, unknown> } = {}): Promise<void> {
    await saveModelDir(dir, { w: this.w }, { ...this.config, ...extra });
  }
  async restore(dir: string): Promise<void> {
    await restoreVariables(dir, { w: this.w });
  }
  static async load(dir: string): Promise<FakeModel> {
    const m = new FakeModel();
    await m.restore(dir);
    m.config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as FakeModel['config'];
    return m;
  }
  weights(): number[] {
    return [...this.w.dataSync()];
  }
  dispose(): void {
    this.w.dispose();
  }
}

interface Val {
  score: number;
  w: number[];
}

const STEPS = 3;

/**
 * Regress w towards a target that depends on the step, so the order of steps matters;
 * validation scores come from `scores` (by epoch) and remember the weights they saw.
 */
function fakeTask(
  over: Partial<TrainTask<FakeModel, Val>> & { scores?: number[]; onStep?: (epoch: number, i: number) => void } = {},
): TrainTask<FakeModel, Val> & { calls: { epoch: number; from: number }[]; closed: number } {
  const model = over.model ?? new FakeModel();
  const optimizer = over.optimizer ?? createOptimizer('adam', 0.1);
  const scores = over.scores ?? [1, 2, 3, 4, 5, 6, 7, 8];
  let current = 0;
  const task = {
    model,
    optimizer,
    calls: [] as { epoch: number; from: number }[],
    closed: 0,
    learningRate: (e: number) => 0.1 * 0.5 ** (e - 1),
    epoch(epoch: number, from: number) {
      current = epoch;
      task.calls.push({ epoch, from });
      return {
        steps: STEPS,
        step(i: number) {
          over.onStep?.(epoch, i);
          const target = tf.tensor1d([1 + i, -2 + 0.5 * i]);
          const loss = optimizer.minimize(() => tf.mean(tf.square(tf.sub(model.w, target))) as tf.Scalar, true)!;
          const value = loss.dataSync()[0]!;
          tf.dispose([target, loss]);
          return { loss: value, items: 2 };
        },
        close: () => {
          task.closed++;
        },
      };
    },
    validate: () => ({ score: scores[current - 1]!, w: model.weights() }),
    score: (v: Val) => v.score,
    better: 'higher' as const,
    loadBest: (dir: string) => FakeModel.load(dir),
    unit: 'items',
    ...over,
  };
  return task;
}

const opts = (over: Partial<LoopOptions> = {}): LoopOptions => ({ epochs: 8, patience: 3, maxMinutes: Infinity, ...over });

describe('trainLoop', () => {
  it('stops early, reloads the best weights and records the run; leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const dirs = dirsIn();
    const task = fakeTask({ scores: [1, 3, 2, 2.5, 2, 9, 9, 9] });
    const { model, state } = await trainLoop(task, opts(), dirs);
    // Best at epoch 2; epochs 3–5 are not better, so patience 3 stops after epoch 5 (epoch 6 would have been better).
    expect(state.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(state.best).toEqual({ score: 3, epoch: 2, iteration: 2 * STEPS });
    expect(model.weights()).toEqual(state.history[1]!.val.w);
    expect(model.weights()).not.toEqual(state.history[4]!.val.w);
    const config = JSON.parse(await readFile(path.join(dirs.outDir, 'config.json'), 'utf8'));
    expect(config.training).toMatchObject({ epochsRun: 5, iterations: 5 * STEPS, best: { epoch: 2 }, unit: 'items' });
    expect(config.training.options.maxMinutes).toBeNull(); // Infinity does not survive JSON
    expect(config.training.history).toHaveLength(5);
    expect(config.metrics.val.score).toBe(3);
    expect(task.closed).toBe(5);
    expect(task.model.w.isDisposed).toBe(true);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('lower is better when the task says so', async () => {
    const { model, state } = await trainLoop(fakeTask({ scores: [3, 1, 2, 2], better: 'lower' }), opts({ patience: 2 }), dirsIn());
    expect(state.best?.epoch).toBe(2);
    expect(state.epoch).toBe(4);
    model.dispose();
  });

  it('sets each epoch’s learning rate through the optimizer’s setter', async () => {
    const seen: number[] = [];
    const sgd: ScheduledOptimizer = tf.train.sgd(1);
    const setter = vi.spyOn(sgd, 'setLearningRate');
    const model = new FakeModel();
    // loss = sum(w): gradient 1, so each SGD step moves every weight by exactly −lr.
    const task = fakeTask({
      model,
      optimizer: sgd,
      epoch: () => ({
        steps: 2,
        step() {
          const w0 = model.weights()[0]!;
          sgd.minimize(() => tf.sum(model.w) as tf.Scalar);
          seen.push(w0 - model.weights()[0]!);
          return { loss: 1, items: 1 };
        },
      }),
      validate: () => ({ score: 1, w: [] }),
    });
    const { model: best } = await trainLoop(task, opts({ epochs: 3 }), dirsIn());
    expect(setter.mock.calls.map((c) => c[0])).toEqual([0.1, 0.05, 0.025]);
    [0.1, 0.1, 0.05, 0.05, 0.025, 0.025].forEach((lr, i) => expect(seen[i]).toBeCloseTo(lr, 6));
    best.dispose();
  });

  it('resumes (optimizer state included) to the weights of an uninterrupted run', async () => {
    const straight = await trainLoop(fakeTask(), opts({ epochs: 4 }), dirsIn());
    const dirs = dirsIn();
    const first = await trainLoop(fakeTask(), opts({ epochs: 2 }), dirs);
    const resumed = await trainLoop(fakeTask(), opts({ epochs: 4 }), { ...dirs, resume: true });
    expect(resumed.state.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    expect(resumed.state.history.map((h) => h.loss)).toEqual(straight.state.history.map((h) => h.loss));
    resumed.model.weights().forEach((w, i) => expect(w).toBeCloseTo(straight.model.weights()[i]!, 6));
    [straight, first, resumed].forEach((r) => r.model.dispose());
  });

  it('a resume that kept a fresh optimizer would end elsewhere (so the comparison above can fail)', async () => {
    const straight = await trainLoop(fakeTask(), opts({ epochs: 4 }), dirsIn());
    const dirs = dirsIn();
    (await trainLoop(fakeTask(), opts({ epochs: 2 }), dirs)).model.dispose();
    const fresh = fakeTask();
    vi.spyOn(fresh.optimizer, 'setWeights').mockResolvedValue(undefined);
    const resumed = await trainLoop(fresh, opts({ epochs: 4 }), { ...dirs, resume: true });
    expect(Math.abs(resumed.model.weights()[0]! - straight.model.weights()[0]!)).toBeGreaterThan(1e-3);
    [straight, resumed].forEach((r) => r.model.dispose());
  });

  it('stops mid-epoch on the time budget and resumes from that step', async () => {
    const straight = await trainLoop(fakeTask(), opts({ epochs: 2 }), dirsIn());
    const dirs = dirsIn();
    // A clock that jumps two minutes during the first step: over the one-minute budget after it.
    let clock = 1e12;
    const now = vi.spyOn(Date, 'now').mockImplementation(() => clock);
    const cut = await trainLoop(fakeTask({ onStep: () => (clock += 120_000) }), opts({ epochs: 2, maxMinutes: 1 }), dirs);
    now.mockRestore();
    expect(cut.state).toMatchObject({ epoch: 0, step: 1, iteration: 1 });
    const task = fakeTask();
    const resumed = await trainLoop(task, opts({ epochs: 2 }), { ...dirs, resume: true });
    expect(task.calls).toEqual([
      { epoch: 1, from: 1 },
      { epoch: 2, from: 0 },
    ]);
    expect(resumed.state.iteration).toBe(2 * STEPS);
    expect(resumed.state.history.map((h) => [h.epoch, h.iteration])).toEqual([
      [1, 1],
      [1, 3],
      [2, 6],
    ]);
    resumed.model.weights().forEach((w, i) => expect(w).toBeCloseTo(straight.model.weights()[i]!, 6));
    [straight, cut, resumed].forEach((r) => r.model.dispose());
  });

  it('validates every evalEvery updates as well as at epoch ends', async () => {
    const { model, state } = await trainLoop(fakeTask(), opts({ epochs: 2, evalEvery: 2 }), dirsIn());
    // Iterations 2 and 4 mid-epoch (6 is an epoch end), plus the two epoch ends.
    expect(state.history.map((h) => [h.epoch, h.iteration])).toEqual([
      [1, 2],
      [1, 3],
      [2, 4],
      [2, 6],
    ]);
    model.dispose();
  });

  it('disposes the model, optimizer, epoch state and resources when a step throws', async () => {
    const before = tf.memory().numTensors;
    const resource = { close: vi.fn() };
    const task = fakeTask({
      resources: [resource],
      onStep: (epoch, i) => {
        if (epoch === 2 && i === 1) throw new Error('step failed');
      },
    });
    const dispose = vi.spyOn(task.optimizer, 'dispose');
    await expect(trainLoop(task, opts(), dirsIn())).rejects.toThrow('step failed');
    expect(task.model.w.isDisposed).toBe(true);
    expect(dispose).toHaveBeenCalledOnce();
    expect(resource.close).toHaveBeenCalledOnce();
    expect(task.closed).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops on a non-finite loss with a hint', async () => {
    const task = fakeTask({ epoch: () => ({ steps: 1, step: () => ({ loss: NaN, items: 1 }) }) });
    await expect(trainLoop(task, opts(), dirsIn())).rejects.toThrow(/loss became NaN at iteration 1: lower --lr/);
    expect(task.model.w.isDisposed).toBe(true);
  });

  it('refuses to resume from a state.json it did not write', async () => {
    const dirs = dirsIn();
    (await trainLoop(fakeTask(), opts({ epochs: 1 }), dirs)).model.dispose();
    await writeFile(path.join(dirs.checkpointDir, 'last', 'state.json'), JSON.stringify({ epoch: 1, bestCider: 2 }));
    const task = fakeTask();
    await expect(trainLoop(task, opts(), { ...dirs, resume: true })).rejects.toThrow(
      /state\.json is not a checkpoint of this trainer: start again without --resume/,
    );
    expect(task.model.w.isDisposed).toBe(true);
  });
});

describe('createOptimizer', () => {
  /** The change of one weight after one step on loss = sum(w) (gradient 1). */
  function firstStep(optimizer: ScheduledOptimizer): number {
    const w = tf.variable(tf.zeros([1]));
    optimizer.minimize(() => tf.sum(w) as tf.Scalar);
    const moved = -w.dataSync()[0]!;
    w.dispose();
    optimizer.dispose();
    return moved;
  }

  it('Adam takes the learning rate set after construction (its first step is ≈ lr)', () => {
    const adam = createOptimizer('adam', 0.5);
    adam.setLearningRate(0.01);
    expect(firstStep(adam)).toBeCloseTo(0.01, 5);
  });

  it('RMSprop takes the learning rate set after construction (its step is linear in lr)', () => {
    const a = createOptimizer('rmsprop', 0.5);
    a.setLearningRate(0.01);
    const b = createOptimizer('rmsprop', 0.02);
    expect(firstStep(a) / firstStep(b)).toBeCloseTo(0.5, 5);
  });
});
