import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CaptionService } from '../../src/caption/service.js';
import { CharService } from '../../src/char/service.js';
import { currentBackend, initBackend, parseBackendName } from '../../src/nn/backend.js';
import { buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/app/config.js';
import { ErrorBodySchema } from '../../src/server/errors.js';
import { numberField } from '../../src/util/option-fields.js';
import { openApiSchema, withoutTuples } from '../../src/server/openapi.js';
import { CaptionOptionsSchema } from '../../src/caption/options.js';
import { CaptionReplySchema } from '../../src/caption/reply.js';
import { GenerateReplySchema } from '../../src/char/reply.js';
import { GenerateBodySchema, StreamEventSchema } from '../../src/server/routes/generate.js';
import { HealthReplySchema, LiveReplySchema, ReadyReplySchema } from '../../src/server/routes/health.js';
import { ModelsReplySchema } from '../../src/server/replies.js';
import { EvidenceSchema, VqaReplySchema } from '../../src/vqa/reply.js';
import { vqaOptionsSchema } from '../../src/vqa/question.js';
import { VqaService } from '../../src/vqa/service.js';
import { jpeg } from './images.js';

/**
 * The OpenAPI document is generated from the zod schemas the routes validate
 * with and type their replies by. These tests hold the document against
 * behaviour: every documented limit, default and required field is what the
 * validation does, and real replies match the documented reply schemas.
 */

interface Schema {
  type?: string;
  format?: string;
  properties?: Record<string, Schema>;
  items?: Schema | Schema[];
  minItems?: number;
  maxItems?: number;
  required?: string[];
  additionalProperties?: boolean | Schema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  default?: unknown;
  enum?: unknown[];
  anyOf?: Schema[];
  description?: string;
}
interface Media {
  schema: Schema;
}
interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { in: string; name: string; required: boolean; schema: Schema }[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description: string; content?: Record<string, Media> }>;
}
interface OpenApiDoc {
  openapi: string;
  info: { description: string };
  paths: Record<string, Record<string, Operation>>;
}

let caption: CaptionService;
let vqa: VqaService;
let generate: CharService;
let app: FastifyInstance;
let doc: OpenApiDoc;

beforeAll(async () => {
  await initBackend(parseBackendName(process.env.TF_BACKEND));
  // The shipped models, loaded as the server does: the document names them.
  caption = await CaptionService.load('models');
  vqa = await VqaService.load('models', { shared: [caption.encoder] });
  generate = await CharService.load('models');
  app = await buildApp({ config: loadConfig({}), backend: currentBackend(), caption, vqa, generate });
  await app.ready();
  const res = await request(app.server).get('/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body as OpenApiDoc;
}, 120_000);

afterAll(async () => {
  await app?.close();
  vqa?.dispose();
  generate?.dispose();
  caption?.dispose();
});

function op(path: string, method: 'get' | 'post'): Operation {
  const o = doc.paths[path]?.[method];
  if (!o) throw new Error(`${method.toUpperCase()} ${path} is not in the OpenAPI document`);
  return o;
}

function json(media: Record<string, Media> | undefined, type = 'application/json'): Schema {
  const schema = media?.[type]?.schema;
  if (!schema) throw new Error(`no ${type} schema`);
  return schema;
}

/** The request options a route documents: the JSON body's properties, less the image. */
function documentedOptions(o: Operation): { properties: Record<string, Schema>; required: string[] } {
  const body = json(o.requestBody?.content);
  const { image: _, ...properties } = body.properties ?? {};
  return { properties, required: (body.required ?? []).filter((k) => k !== 'image') };
}

const accepts = (schema: z.ZodTypeAny, v: Record<string, unknown>) => schema.safeParse(v).success;

/**
 * Every documented option, probed against the zod schema the route parses
 * with: bounds hold exactly at the limit, defaults are what an absent field
 * becomes, required fields are required, and nothing undocumented passes.
 * `base` holds valid values for required fields (and a mode where all options apply).
 */
function expectDocumentedAsValidated(o: Operation, schema: z.ZodTypeAny, base: Record<string, unknown>): void {
  const { properties, required } = documentedOptions(o);
  expect(Object.keys(properties).length).toBeGreaterThan(0);
  expect(accepts(schema, base)).toBe(true);
  expect(accepts(schema, { ...base, not_an_option: 1 }), 'undocumented fields are refused').toBe(false);
  for (const [name, p] of Object.entries(properties)) {
    const { [name]: _, ...without } = base;
    const withValue = (v: unknown) => ({ ...base, [name]: v });
    expect(accepts(schema, without), `${name} required`).toBe(!required.includes(name));
    if (p.default !== undefined) expect((schema.parse(without) as Record<string, unknown>)[name], `${name} default`).toEqual(p.default);
    if (p.type === 'integer' || p.type === 'number') {
      const step = p.type === 'integer' ? 1 : 1e-6;
      expect(p.minimum, `${name} minimum`).toBeTypeOf('number');
      expect(p.maximum, `${name} maximum`).toBeTypeOf('number');
      const [min, max] = [p.minimum!, p.maximum!];
      expect(accepts(schema, withValue(max)), `${name} = max`).toBe(true);
      expect(accepts(schema, withValue(max + step)), `${name} > max`).toBe(false);
      expect(accepts(schema, withValue(min)), `${name} = min`).toBe(!p.exclusiveMinimum);
      const nextToMin = p.exclusiveMinimum ? min + step : min - step;
      expect(accepts(schema, withValue(nextToMin)), `${name} just inside / outside min`).toBe(!!p.exclusiveMinimum);
      if (p.type === 'integer') expect(accepts(schema, withValue(min + 0.5)), `${name} integer`).toBe(false);
    } else if (p.enum) {
      for (const v of p.enum) expect(accepts(schema, withValue(v)), `${name} = ${String(v)}`).toBe(true);
      expect(accepts(schema, withValue('not-a-value')), `${name} outside the enum`).toBe(false);
    } else if (p.type === 'boolean') {
      expect(accepts(schema, withValue(true))).toBe(true);
      expect(accepts(schema, withValue('yes'))).toBe(false);
    } else {
      expect(p.type, name).toBe('string');
      expect(accepts(schema, withValue(42)), `${name} must be a string`).toBe(false);
    }
  }
}

/** The documented 200 reply of a route has exactly the reply schema's fields and required fields. */
function expectReplyDocumented(schema: Schema, reply: z.AnyZodObject): void {
  const shape = reply.shape as Record<string, z.ZodTypeAny>;
  expect(Object.keys(schema.properties ?? {}).sort()).toEqual(Object.keys(shape).sort());
  expect([...(schema.required ?? [])].sort()).toEqual(
    Object.keys(shape)
      .filter((k) => !shape[k]!.isOptional())
      .sort(),
  );
  expect(schema.additionalProperties).toBe(false);
}

describe('OpenAPI document', () => {
  it('describes the three models and the ops routes', () => {
    expect(doc.openapi).toMatch(/^3\.0\./);
    for (const route of ['/caption', '/vqa', '/generate']) expect(doc.info.description).toContain(route);
    const routes = [
      ['/caption', 'post'],
      ['/vqa', 'post'],
      ['/generate', 'post'],
      ['/health', 'get'],
      ['/health/live', 'get'],
      ['/health/ready', 'get'],
      ['/models', 'get'],
      ['/metrics', 'get'],
    ] as const;
    for (const [path, method] of routes) {
      const o = op(path, method);
      expect(o.summary, path).toBeTruthy();
      expect(o.tags?.length, path).toBe(1);
      expect(o.responses['200']?.content, path).toBeDefined();
    }
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/caption',
      '/generate',
      '/health',
      '/health/live',
      '/health/ready',
      '/metrics',
      '/models',
      '/vqa',
    ]);
  });

  it('image routes: three body kinds, and every option also in the query string, none required there', () => {
    for (const path of ['/caption', '/vqa']) {
      const o = op(path, 'post');
      const content = o.requestBody?.content ?? {};
      expect(Object.keys(content).sort()).toEqual(['application/json', 'image/*', 'multipart/form-data']);
      expect(json(content, 'multipart/form-data').properties?.image?.format).toBe('binary');
      expect(json(content, 'application/json').properties?.image?.format).toBe('byte');
      expect(json(content, 'image/*').format).toBe('binary');
      const { image: _m, ...multipartOptions } = json(content, 'multipart/form-data').properties ?? {};
      expect(multipartOptions).toEqual(documentedOptions(o).properties);
      for (const kind of ['multipart/form-data', 'application/json']) expect(json(content, kind).required).toContain('image');
      const query = o.parameters ?? [];
      expect(query.map((p) => p.name).sort()).toEqual(Object.keys(documentedOptions(o).properties).sort());
      for (const p of query) expect([p.in, p.required]).toEqual(['query', false]);
    }
  });

  it('caption options: names, limits and defaults are those the route validates', () => {
    expectDocumentedAsValidated(op('/caption', 'post'), CaptionOptionsSchema, { mode: 'sample' });
  });

  it('vqa options: the loaded models by name, the default model, question and top_k rules', () => {
    const o = op('/vqa', 'post');
    const { properties, required } = documentedOptions(o);
    expect(properties.model?.enum).toEqual(vqa.modelNames);
    expect(vqa.modelNames).toEqual(expect.arrayContaining(['easy-vqa', 'flickr8k-qa']));
    expect(properties.model?.default).toBe(vqa.defaultModel);
    expect(required).toEqual(['question']);
    for (const name of vqa.modelNames) expect(o.description).toContain(name);
    expectDocumentedAsValidated(o, vqaOptionsSchema(vqa.modelNames, vqa.defaultModel), { question: 'what is the man riding?' });
  });

  it('generate options: a JSON body whose names, limits and defaults are those the route validates', () => {
    const o = op('/generate', 'post');
    expect(Object.keys(o.requestBody?.content ?? {})).toEqual(['application/json']);
    expectDocumentedAsValidated(o, GenerateBodySchema, {});
  });

  it('replies: each route documents its reply schema; routes with a body document the error shape', () => {
    expectReplyDocumented(json(op('/caption', 'post').responses['200']?.content), CaptionReplySchema);
    expectReplyDocumented(json(op('/vqa', 'post').responses['200']?.content), VqaReplySchema);
    expectReplyDocumented(json(op('/generate', 'post').responses['200']?.content), GenerateReplySchema);
    expectReplyDocumented(json(op('/health', 'get').responses['200']?.content), HealthReplySchema);
    expectReplyDocumented(json(op('/health/live', 'get').responses['200']?.content), LiveReplySchema);
    expectReplyDocumented(json(op('/health/ready', 'get').responses['200']?.content), ReadyReplySchema);
    expectReplyDocumented(json(op('/models', 'get').responses['200']?.content), ModelsReplySchema);
    expect(json(op('/generate', 'post').responses['200']?.content, 'text/event-stream').anyOf).toHaveLength(3);
    expect(json(op('/metrics', 'get').responses['200']?.content, 'text/plain').type).toBe('string');
    for (const path of ['/caption', '/vqa', '/generate']) {
      for (const code of ['4XX', '5XX']) {
        const error = json(op(path, 'post').responses[code]?.content);
        expect(error.required).toEqual(['error']);
        expect(error.properties?.error?.required).toEqual(['code', 'message']);
      }
    }
  });

  it('vqa reply: an answer may carry its evidence (box, label, weight), all three required when it does', () => {
    const answers = json(op('/vqa', 'post').responses['200']?.content).properties?.answers;
    expect(answers?.type).toBe('array');
    const answer = answers?.items as Schema;
    expect(Object.keys(answer.properties ?? {}).sort()).toEqual(['answer', 'evidence', 'score']);
    expect(answer.required?.sort()).toEqual(['answer', 'score']); // models without attention send none
    const evidence = answer.properties?.evidence;
    expect(evidence).toMatchObject({
      type: 'object',
      additionalProperties: false,
      properties: {
        box: { type: 'array', minItems: 4, maxItems: 4, items: { type: 'number' } },
        label: { type: 'string' },
        weight: { type: 'number' },
      },
    });
    expect(evidence?.description).toBeTruthy();
    expect(Object.keys(evidence?.properties ?? {}).sort()).toEqual(Object.keys(EvidenceSchema.shape).sort());
    expect(evidence?.required?.sort()).toEqual(['box', 'label', 'weight']);
  });

  it('has no tuples, which OpenAPI 3.0 cannot say: every items is one schema', () => {
    const lists: unknown[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object')
        for (const [k, v] of Object.entries(node)) {
          if (k === 'items' && Array.isArray(v)) lists.push(v);
          walk(v);
        }
    };
    walk(op('/vqa', 'post'));
    walk(op('/caption', 'post'));
    expect(lists).toEqual([]);
    expect(withoutTuples({ items: [{ type: 'number' }, { type: 'string' }] })).toEqual({
      items: { anyOf: [{ type: 'number' }, { type: 'string' }] },
    });
  });

  it('a limit changed in zod changes the document', () => {
    const doc = (max: number) => openApiSchema(z.object({ k: numberField({ min: 1, max, integer: true }, 2) }).strict());
    const k = { type: 'integer', minimum: 1, maximum: 7, default: 2 };
    expect(doc(7)).toMatchObject({ properties: { k }, additionalProperties: false });
    expect(doc(9)).toMatchObject({ properties: { k: { maximum: 9 } } });
    const optional = openApiSchema(z.object({ t: numberField({ min: 0, max: 5, exclusiveMin: true }, undefined) }));
    expect(optional).toMatchObject({ properties: { t: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 5 } } });
    expect(optional.required).toBeUndefined();
  });
});

describe('real replies match the documented schemas', () => {
  it('caption, vqa, generate (JSON and stream), health, an error', async () => {
    const photo = await jpeg();
    const post = (path: string) => request(app.server).post(path);
    const ok = (res: request.Response) => {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as unknown;
    };
    CaptionReplySchema.parse(ok(await post('/caption?mode=sample&n=2&max_length=5').set('content-type', 'image/jpeg').send(photo)));
    VqaReplySchema.parse(ok(await post('/vqa').send({ image: photo.toString('base64'), question: 'what is it?', top_k: 2 })));
    GenerateReplySchema.parse(ok(await post('/generate').send({ prime: 'a', length: 5, candidates: 2 })));
    HealthReplySchema.parse(ok(await request(app.server).get('/health')));
    LiveReplySchema.parse(ok(await request(app.server).get('/health/live')));
    ReadyReplySchema.parse(ok(await request(app.server).get('/health/ready')));
    const { models } = ModelsReplySchema.parse(ok(await request(app.server).get('/models')));
    // The shipped models' cards: every one has its validation scores, as read from its config.json.
    expect(models.map((m) => `${m.task}/${m.name}`).sort()).toEqual(
      ['caption/' + caption.model.name, 'generate/' + generate.model.config.name, ...vqa.modelNames.map((n) => `vqa/${n}`)].sort(),
    );
    expect(models.find((m) => m.task === 'caption')?.metrics).toEqual(caption.model.metrics);
    for (const m of models) expect(m.metrics, m.name).toHaveProperty('val');

    const stream = await post('/generate').send({ length: 5, stream: true, candidates: 1 });
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = [...stream.text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)];
    expect(events.map((e) => e[1]).at(-1)).toBe('done');
    for (const e of events) StreamEventSchema.parse(JSON.parse(e[2]!));

    const refused = await post('/generate').send({ length: 0 });
    expect(refused.status).toBe(400);
    ErrorBodySchema.parse(refused.body);
  }, 60_000);

  it('/docs serves swagger-ui over the same document', async () => {
    const ui = await request(app.server).get('/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
    const served = await request(app.server).get('/docs/json');
    expect(served.status).toBe(200);
    expect((served.body as OpenApiDoc).paths).toEqual(doc.paths);
  });
});
