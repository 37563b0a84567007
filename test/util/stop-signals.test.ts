import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onStopSignals, stopAction } from '../../src/util/stop-signals.js';

describe('stop signals', () => {
  it('the first stops, the second is ignored, the third and later force', () => {
    expect([1, 2, 3, 4].map(stopAction)).toEqual(['stop', 'ignore', 'force', 'force']);
  });

  it('counts SIGINT and SIGTERM together, and stops listening when asked', () => {
    const proc = new EventEmitter();
    const seen: string[] = [];
    const off = onStopSignals(
      {
        stop: (s) => seen.push(`stop ${s}`),
        ignore: (s) => seen.push(`ignore ${s}`),
        force: (s) => seen.push(`force ${s}`),
      },
      proc,
    );
    for (const s of ['SIGTERM', 'SIGINT', 'SIGTERM']) proc.emit(s, s);
    expect(seen).toEqual(['stop SIGTERM', 'ignore SIGINT', 'force SIGTERM']);
    off();
    expect(proc.listenerCount('SIGTERM') + proc.listenerCount('SIGINT')).toBe(0);
  });
});
