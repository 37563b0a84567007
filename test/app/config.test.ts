import { describe, expect, it } from 'vitest';
import { ConfigError, encoderThread, loadConfig } from '../../src/app/config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      PORT: 3000,
      HOST: '0.0.0.0',
      MODELS_DIR: 'models',
      VQA_DEFAULT_MODEL: 'flickr8k-qa',
      TF_BACKEND: undefined,
      INFERENCE_RUNTIME: undefined,
      ENCODER_THREAD: 'on',
      MAX_IMAGE_BYTES: 10 * 1024 * 1024,
      MAX_IMAGE_PIXELS: 40_000_000,
      MAX_IMAGE_ASPECT_RATIO: 20,
      MAX_CONCURRENCY: 2,
      MAX_QUEUE: 32,
      BATCH_MAX_SIZE: 8,
      BATCH_MAX_DELAY_MS: 2,
      REQUEST_TIMEOUT_MS: 60_000,
      KEEP_ALIVE_TIMEOUT_MS: 72_000,
      SHUTDOWN_TIMEOUT_MS: 25_000,
      LOG_LEVEL: 'info',
      RATE_LIMIT_MAX: 600,
      RATE_LIMIT_WINDOW_MS: 60_000,
      TRUST_PROXY: 0,
      SHED_EVENT_LOOP_DELAY_MS: 1_000,
      SHED_HEAP_USED_MIB: 0,
      SHED_RSS_MIB: 0,
      CORS_ORIGINS: [],
      ADMIN_TOKEN: undefined,
      REDIS_URL: undefined,
      INPUT_ROOT: undefined,
      JOBS_MAX_IMAGES: 10_000,
      JOBS_MAX_UPLOAD_MIB: 1024,
      JOBS_TTL_S: 7 * 86_400,
      JOBS_ATTEMPTS: 3,
      WORKER_BATCH: 4,
      WORKER_LOCK_MS: 30_000,
    });
  });

  it('takes redis:// and rediss:// URLs for REDIS_URL and says what it wants otherwise', () => {
    expect(loadConfig({ REDIS_URL: 'redis://cache:6379/2' }).REDIS_URL).toBe('redis://cache:6379/2');
    expect(loadConfig({ REDIS_URL: 'rediss://user:pw@cache:6380' }).REDIS_URL).toBe('rediss://user:pw@cache:6380');
    expect(() => loadConfig({ REDIS_URL: 'cache:6379' })).toThrow(/REDIS_URL must look like redis:\/\/host:6379/);
  });

  it('reads CORS_ORIGINS as a trimmed list', () => {
    expect(loadConfig({ CORS_ORIGINS: ' https://a.example , http://localhost:5173,' }).CORS_ORIGINS).toEqual([
      'https://a.example',
      'http://localhost:5173',
    ]);
    expect(loadConfig({ CORS_ORIGINS: '*' }).CORS_ORIGINS).toEqual(['*']);
  });

  it('reads overrides; empty strings count as unset; 40e6 is a number', () => {
    const c = loadConfig({
      PORT: '8080',
      TF_BACKEND: 'cpu',
      INFERENCE_RUNTIME: 'tfjs',
      MAX_IMAGE_PIXELS: '40e6',
      MAX_QUEUE: '0',
      HOST: '',
      LOG_LEVEL: 'debug',
    });
    expect(c).toMatchObject({
      PORT: 8080,
      TF_BACKEND: 'cpu',
      INFERENCE_RUNTIME: 'tfjs',
      MAX_IMAGE_PIXELS: 40_000_000,
      MAX_QUEUE: 0,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'debug',
    });
  });

  it.each([
    ['PORT', 'abc', 'PORT must be an integer from 0 to 65535'],
    ['PORT', '70000', 'PORT must be an integer from 0 to 65535'],
    ['MAX_IMAGE_BYTES', '1.5', 'MAX_IMAGE_BYTES must be an integer'],
    ['MAX_CONCURRENCY', '0', 'MAX_CONCURRENCY must be an integer from 1'],
    ['TF_BACKEND', 'gpu', 'TF_BACKEND must be one of tfjs-node-gpu, tfjs-node, wasm, cpu'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of'],
    ['RATE_LIMIT_MAX', '-1', 'RATE_LIMIT_MAX must be an integer from 0'],
    ['SHED_RSS_MIB', '1.5', 'SHED_RSS_MIB must be an integer'],
    ['CORS_ORIGINS', 'https://a.example/path', 'CORS_ORIGINS must be a comma-separated list of origins'],
    ['CORS_ORIGINS', 'a.example', 'CORS_ORIGINS must be a comma-separated list of origins'],
    ['ADMIN_TOKEN', 'short', 'ADMIN_TOKEN must be 16 to 512 printable characters'],
    ['INFERENCE_RUNTIME', 'ort', 'INFERENCE_RUNTIME must be one of onnx, tfjs'],
    ['ENCODER_THREAD', 'yes', 'ENCODER_THREAD must be one of on, off'],
  ])('%s=%s is refused with a message naming the rule', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('runs the encoders in a thread only on onnx, unless ENCODER_THREAD=off', () => {
    expect(encoderThread(loadConfig({}), 'onnx')).toBe(true);
    expect(encoderThread(loadConfig({}), 'tfjs')).toBe(false);
    expect(encoderThread(loadConfig({ ENCODER_THREAD: 'off' }), 'onnx')).toBe(false);
  });

  it('lists every invalid variable at once', () => {
    expect(() => loadConfig({ PORT: '-1', MAX_QUEUE: 'x' })).toThrow(/PORT[\s\S]*MAX_QUEUE/);
  });
});
