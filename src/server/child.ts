import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** A server started as a child process (benchmarks run it apart from their load generator). */
export interface ChildServer {
  child: ChildProcess;
  exited: Promise<number | null>;
}

const root = path.resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `npm start` as a child on 127.0.0.1:`port` with `env` on top of this
 * process's; resolves once /health/ready answers 200 (the server listens only
 * after loading every model), and throws with its last stderr line if it exits first.
 * `tree`: the source tree to run (another checkout, to compare two versions in one benchmark run).
 */
export async function startChildServer(
  port: number,
  env: Record<string, string>,
  readyWithinMs = 180_000,
  tree = root,
): Promise<ChildServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
    cwd: tree,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  for (const t0 = Date.now(); Date.now() - t0 < readyWithinMs; await sleep(200)) {
    if (gone) throw new Error(`the server exited before it was ready: ${stderr.trim().split('\n').pop() ?? ''}`);
    const ok = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, exited };
  }
  child.kill('SIGKILL');
  throw new Error(`the server was not ready within ${readyWithinMs / 1000} s`);
}

/** SIGTERM (a graceful drain), then SIGKILL after `graceMs`; the exit code, or 'timeout'. */
export async function stopChildServer(server: ChildServer, graceMs = 30_000): Promise<number | null | 'timeout'> {
  server.child.kill('SIGTERM');
  const code = await Promise.race([server.exited, sleep(graceMs).then(() => 'timeout' as const)]);
  if (code === 'timeout') server.child.kill('SIGKILL');
  return code;
}
