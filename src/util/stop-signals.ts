/** What a stop signal (SIGINT/SIGTERM) does, by how many have arrived. */
export type StopAction = 'stop' | 'ignore' | 'force';

/**
 * The first signal starts a graceful stop, the second is ignored, the third
 * ends the stop at once. A signal sent to `npm start`'s process group (systemd's
 * default KillMode, a shell's job control) reaches the server twice: once from
 * the kernel and once forwarded by npm. So a second signal must not cut the
 * drain short; a person who means it presses Ctrl-C a third time.
 */
export function stopAction(count: number): StopAction {
  if (count <= 1) return 'stop';
  return count === 2 ? 'ignore' : 'force';
}

/** stop: drain and exit; ignore: only say so; force: give up on the drain. */
export type StopHandlers = Record<StopAction, (signal: NodeJS.Signals) => void>;

/** Count SIGINT and SIGTERM together and act on each as stopAction says; returns a function that stops listening. */
export function onStopSignals(handlers: StopHandlers, proc: NodeJS.EventEmitter = process): () => void {
  let count = 0;
  const listener = (signal: NodeJS.Signals) => {
    count++;
    handlers[stopAction(count)](signal);
  };
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const s of signals) proc.on(s, listener);
  return () => {
    for (const s of signals) proc.off(s, listener);
  };
}
