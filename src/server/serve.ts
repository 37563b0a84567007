import type { Config } from '../app/config.js';
import { JobsClient } from '../app/jobs/producer.js';
import { startInference } from '../app/runtime.js';
import { loadServices } from '../app/services.js';
import { log } from '../log.js';
import { closeEncoderThreads } from '../encoder/thread.js';
import { onStopSignals } from '../util/stop-signals.js';
import { buildApp } from './app.js';
import { describeModels, ModelRegistry } from './models.js';

/**
 * Load the backend and models, listen, reload the models on SIGHUP, and shut down cleanly on SIGINT/SIGTERM
 * (a second signal is ignored, a third ends the drain: src/util/stop-signals.ts).
 */
export async function serve(config: Config): Promise<void> {
  log.level = config.LOG_LEVEL;
  // Models with an ONNX export run on onnxruntime when it loads; tfjs stays for the rest and as the fallback.
  const { backend, runtime: choice, encoderThread } = await startInference(config);
  const runtime = { runtime: choice.runtime, device: choice.device ?? backend, reason: choice.reason, encoder_thread: encoderThread };
  log.info(runtime, `inference runtime ${choice.runtime} (${runtime.device}): ${choice.reason}`);
  const models = new ModelRegistry(await loadServices(config, choice), () => loadServices(config, choice));
  const jobs = JobsClient.fromConfig(config);
  const app = await buildApp({ config, backend, runtime, models, ...(jobs ? { jobs } : {}) });
  const address = await app.listen({ port: config.PORT, host: config.HOST });
  log.info({ backend, url: address, docs: `${address}/docs` }, `listening on ${address} (backend ${backend})`);

  // The third stop signal resolves this: the drain is given up.
  let forceStop = () => {};
  const forced = new Promise<false>((resolve) => (forceStop = () => resolve(false)));
  const shutdown = async (signal: NodeJS.Signals): Promise<boolean> => {
    log.info({ signal, deadline_ms: config.SHUTDOWN_TIMEOUT_MS }, 'shutting down: draining in-flight and queued requests');
    // app.close() stops accepting, marks /health/ready 503 and waits for every
    // open request, queued ones included; past the deadline we give up on them.
    const drained = await Promise.race([withDeadline(app.close(), config.SHUTDOWN_TIMEOUT_MS), forced]);
    if (!drained) log.error({ deadline_ms: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown deadline passed or forced with requests still open');
    models.dispose();
    // process.exit while ORT runs in the encoder thread would abort the process (SIGABRT, not this exit code).
    await closeEncoderThreads();
    await jobs?.close();
    log.info('bye');
    return drained;
  };
  let closing = false;
  // SIGHUP reloads the models from disk (as POST /admin/reload does); a failure keeps the old ones.
  process.on('SIGHUP', () => {
    if (closing) return;
    log.info({ signal: 'SIGHUP' }, 'reloading models');
    models.reload().then(
      ({ generation, ms }) => log.info({ generation, ms, models: describeModels(models.services) }, 'models reloaded'),
      (err: unknown) => log.error({ err }, err instanceof Error ? err.message : 'reload failed'),
    );
  });
  onStopSignals({
    stop: (signal) => {
      closing = true;
      shutdown(signal).then(
        (drained) => process.exit(drained ? 0 : 1),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    },
    ignore: (signal) => log.warn({ signal }, `${signal} again while draining: ignored (a third stop signal ends the drain)`),
    force: (signal) => {
      log.warn({ signal }, `third stop signal (${signal}): giving up on the drain`);
      forceStop();
    },
  });
}

/** Whether `work` settled within `ms` (a rejection counts as settled and is rethrown). */
export async function withDeadline(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true as const), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
