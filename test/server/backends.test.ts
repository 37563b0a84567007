import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** Caption a file in a fresh process with TF_BACKEND forced (the choice is per process). */
async function captionWith(backend: string, file: string): Promise<{ backend: string; captions: { text: string; logprob: number }[] }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/caption.ts', '--mode', 'greedy', file], {
    env: { ...process.env, TF_BACKEND: backend, LOG_LEVEL: 'silent' },
    timeout: 120_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { backend: string; captions: { text: string; logprob: number }[] };
}

describe('the shipped models on each installable backend', () => {
  it('wasm and the pure-JS cpu backend both caption, and agree', { timeout: 180_000 }, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'backend-'));
    const file = path.join(dir, 'img.png');
    await writeFile(
      file,
      await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 30, g: 120, b: 200 } } })
        .png()
        .toBuffer(),
    );
    const [wasm, cpu] = [await captionWith('wasm', file), await captionWith('cpu', file)];
    expect(wasm.backend).toBe('wasm');
    expect(cpu.backend).toBe('cpu');
    expect(cpu.captions[0]!.text.length).toBeGreaterThan(0);
    expect(cpu.captions[0]!.text).toBe(wasm.captions[0]!.text);
    expect(cpu.captions[0]!.logprob).toBeCloseTo(wasm.captions[0]!.logprob, 1);
  });
});
