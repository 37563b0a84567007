import { ConfigError, loadConfig, type Config } from '../app/config.js';

/**
 * `npm start`. The environment is validated before anything imports the
 * logger or tfjs, so a bad value (LOG_LEVEL included) gets a one-line
 * explanation and exit code 2 instead of a stack trace.
 */
function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
}

const config = readConfig();
const { serve } = await import('./serve.js');
const { log } = await import('../log.js');
serve(config).catch((err: unknown) => {
  // The cause in the message itself (a corrupt model file names the file), so the one fatal line says what to fix.
  const cause = err instanceof Error ? err.message.replace(/\s*\n\s*/g, ' ') : String(err);
  log.fatal({ err }, `server failed to start: ${cause}`);
  process.exit(1);
});
