import { existsSync } from 'node:fs';
import path from 'node:path';
import { CaptionService } from '../caption/service.js';
import { CharService } from '../char/service.js';
import type { Config } from './config.js';
import { log } from '../log.js';
import { setDefaultEncoderRuntime } from '../encoder/registry.js';
import { initBackend } from '../nn/backend.js';
import { chooseRuntime } from '../onnx/runtime.js';
import { VqaService } from '../vqa/service.js';
import { buildApp } from './app.js';

/** Load the backend and models, listen, and shut down cleanly on SIGINT/SIGTERM. */
export async function serve(config: Config): Promise<void> {
  log.level = config.LOG_LEVEL;
  const backend = await initBackend(config.TF_BACKEND);
  // Encoders with an ONNX export run on onnxruntime when it loads; tfjs stays for the rest and as the fallback.
  const choice = await chooseRuntime(config.INFERENCE_RUNTIME);
  const runtime = { runtime: choice.runtime, device: choice.device ?? backend, reason: choice.reason };
  setDefaultEncoderRuntime(choice);
  log.info(runtime, `inference runtime ${choice.runtime} (${runtime.device}): ${choice.reason}`);
  const t0 = performance.now();
  const caption = await CaptionService.load(config.MODELS_DIR);
  const { name, version } = caption.model.config;
  log.info(
    {
      model: name,
      version,
      encoder: caption.encoder.name,
      encoder_runtime: caption.encoder.runtime ?? 'tfjs',
      ms: Math.round(performance.now() - t0),
    },
    'caption model loaded',
  );

  // The char model is optional: without models/char the server runs without POST /generate.
  let generate: CharService | undefined;
  if (existsSync(path.join(config.MODELS_DIR, 'char', 'config.json'))) {
    generate = await CharService.load(config.MODELS_DIR);
    log.info({ model: generate.info.name, version: generate.info.version }, 'char model loaded');
  } else log.warn({ dir: path.join(config.MODELS_DIR, 'char') }, 'no char model: POST /generate disabled');

  // VQA models are optional too; they reuse the caption encoder when trained on it.
  let vqa: VqaService | undefined;
  if (VqaService.modelDirs(path.join(config.MODELS_DIR, 'vqa')).length > 0) {
    vqa = await VqaService.load(config.MODELS_DIR, { shared: [caption.encoder], preferred: config.VQA_DEFAULT_MODEL });
    log.info({ models: vqa.modelNames, default: vqa.defaultModel }, 'VQA models loaded');
  } else log.warn({ dir: path.join(config.MODELS_DIR, 'vqa') }, 'no VQA model: POST /vqa disabled');

  const app = await buildApp({ config, backend, runtime, caption, vqa, generate });
  const address = await app.listen({ port: config.PORT, host: config.HOST });
  log.info({ backend, url: address, docs: `${address}/docs` }, `listening on ${address} (backend ${backend})`);

  let closing = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<boolean> => {
    if (closing) return true; // SIGTERM after SIGINT: the first drain goes on
    closing = true;
    log.info({ signal, deadline_ms: config.SHUTDOWN_TIMEOUT_MS }, 'shutting down: draining in-flight and queued requests');
    // app.close() stops accepting, marks /health/ready 503 and waits for every
    // open request, queued ones included; past the deadline we give up on them.
    const drained = await withDeadline(app.close(), config.SHUTDOWN_TIMEOUT_MS);
    if (!drained) log.error({ deadline_ms: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown deadline passed with requests still open');
    caption.dispose();
    generate?.dispose();
    vqa?.dispose();
    log.info('bye');
    return drained;
  };
  // once: a second Ctrl-C falls back to the default handler and kills at once.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      shutdown(signal).then(
        (drained) => process.exit(drained ? 0 : 1),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
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
