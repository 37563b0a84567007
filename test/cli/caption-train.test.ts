import { describe, expect, it } from 'vitest';
import { archDefaultsNote, checkArchFlags } from '../../src/cli/caption-train.js';
import { UsageError } from '../../src/cli/command.js';

describe('checkArchFlags', () => {
  const ok = (args: Parameters<typeof checkArchFlags>[0]) => () => checkArchFlags(args);

  it('accepts each arch with its own data file and flags', () => {
    expect(ok({ arch: 'plain', features: 'f', normalizeFeatures: true, scst: 10, init: 'runs/p' })).not.toThrow();
    expect(ok({ arch: 'grounded', features: 'f', words: 'w.json', maxEntries: 8, attendDim: 64 })).not.toThrow();
    expect(ok({ arch: 'attention', regions: 'r', maxRegions: 10, attendDim: 128, scst: 5, init: 'runs/a' })).not.toThrow();
    expect(ok({ arch: 'attention', regions: 'r', slots: true })).not.toThrow();
    expect(ok({ arch: 'attention', regions: 'r', noSentinel: true })).not.toThrow();
  });

  it('refuses, in one line naming the flag, what the arch does not read', () => {
    expect(ok({ arch: 'plain', features: 'f', regions: 'r' })).toThrow(new UsageError('--regions is for --arch attention, not plain'));
    expect(ok({ arch: 'attention', regions: 'r', entryMinScore: 0.2 })).toThrow('--entry-min-score is for --arch grounded, not attention');
    expect(ok({ arch: 'grounded', features: 'f', scst: 100, init: 'x' })).toThrow('--scst is for --arch plain or attention, not grounded');
    expect(ok({ arch: 'grounded', features: 'f', slots: true })).toThrow('--slots is for --arch attention, not grounded');
    expect(ok({ arch: 'plain', features: 'f', noSentinel: true })).toThrow('--no-sentinel is for --arch attention, not plain');
    // a boolean flag left off is no misuse
    expect(ok({ arch: 'grounded', features: 'f', normalizeFeatures: false })).not.toThrow();
  });

  it("asks for the arch's data file, --init with --scst, and a known baseline", () => {
    expect(ok({ arch: 'attention' })).toThrow('--arch attention needs --regions FILE');
    expect(ok({ arch: 'grounded' })).toThrow('--arch grounded needs --features FILE');
    expect(ok({ arch: 'plain', features: 'f', scst: 3 })).toThrow('--scst needs --init <a plain caption model folder>');
    expect(ok({ arch: 'plain', features: 'f', scst: 3, init: 'x', scstBaseline: 'best' })).toThrow(
      "--scst-baseline: greedy or mean, got 'best'",
    );
  });
});

describe('archDefaultsNote', () => {
  it("lists each arch's defaults from its schema", () => {
    const note = archDefaultsNote();
    expect(note).toMatch(/^ {2}plain: --epochs \d+ --lr [\d.e-]+ --hidden \d+ --batch-size \d+$/m);
    expect(
      note
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(':')[0]),
    ).toEqual(['plain', 'grounded', 'attention']);
  });
});
