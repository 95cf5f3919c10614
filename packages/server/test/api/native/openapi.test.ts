import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HTTPMethods } from 'fastify';
import { NATIVE_ROUTES, nativeOpenApiDocument } from '../../../src/api/native/native-api.js';
import { type OpenApiDocument, openApiPath } from '../../../src/api/openapi/openapi-document.js';
import { type NativeServer, startNativeServer } from './native-harness.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Every `$ref` in a JSON value. */
function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

describe('native API: OpenAPI document and docs page', () => {
  let s: NativeServer;
  let doc: OpenApiDocument;
  before(async () => {
    s = await startNativeServer();
    const res = await s.call<OpenApiDocument>('GET', '/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    doc = res.body;
  });
  after(() => s.stop());

  it('is an OpenAPI 3.1 document identical to the one built from the route table', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.info.title, 'cairn native API');
    assert.ok(doc.info.version.length > 0);
    assert.deepEqual(doc, JSON.parse(JSON.stringify(nativeOpenApiDocument())));
  });

  it('describes every route the server serves, and serves every route it describes', () => {
    const described: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const m of METHODS) if (item[m]) described.push(`${m.toUpperCase()} ${path}`);
    }
    const served = NATIVE_ROUTES.map((r) => `${r.method} ${openApiPath(r.url)}`);
    assert.deepEqual([...described].sort(), [...served].sort());
    for (const r of NATIVE_ROUTES) {
      assert.ok(
        s.server.app.hasRoute({ method: r.method as HTTPMethods, url: r.url }),
        `${r.method} ${r.url} is served`,
      );
    }
    assert.ok(served.length >= 15);
    for (const expected of [
      'POST /v1/instances',
      'DELETE /v1/instances',
      'PATCH /v1/instances',
      'GET /v1/instances',
      'PUT /v1/instances/heartbeat',
      'PUT /v1/instances/heartbeat/batch',
      'GET /v1/services',
      'GET /v1/services/{namespace}/{group}/{service}',
      'PUT /v1/services/{namespace}/{group}/{service}',
      'PATCH /v1/services/{namespace}/{group}/{service}',
      'DELETE /v1/services/{namespace}/{group}/{service}',
      'GET /v1/namespaces',
      'GET /v1/namespaces/{namespace}',
      'PUT /v1/namespaces/{namespace}',
      'DELETE /v1/namespaces/{namespace}',
    ]) {
      assert.ok(described.includes(expected), `${expected} is described`);
    }
  });

  it('is well formed: unique operation ids, path parameters declared, references resolve, errors documented', () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const m of METHODS) {
        const op = item[m];
        if (!op) continue;
        assert.ok(!ids.has(op.operationId), `operationId ${op.operationId} is unique`);
        ids.add(op.operationId);
        assert.ok(op.summary.length > 0);
        assert.equal(op.tags.length, 1);
        const inPath = op.parameters.filter((p) => p.in === 'path');
        assert.deepEqual(inPath.map((p) => p.name).sort(), [...templated].sort(), `${m} ${path}: path parameters`);
        for (const p of inPath) assert.equal(p.required, true);
        const names = op.parameters.map((p) => `${p.in}:${p.name}`);
        assert.equal(new Set(names).size, names.length, `${m} ${path}: parameters are unique`);
        const success = Object.keys(op.responses).filter((c) => c.startsWith('2'));
        assert.equal(success.length, 1, `${m} ${path}: one success answer`);
        assert.ok(op.responses['400'], `${m} ${path}: documents VALIDATION_FAILED`);
        assert.ok(op['x-cairn-access'], `${m} ${path}: declares its access`);
        if (m === 'get' || m === 'delete') assert.equal(op.requestBody, undefined);
      }
    }
    for (const ref of refsIn(doc)) {
      const name = ref.replace('#/components/schemas/', '');
      assert.ok(ref.startsWith('#/components/schemas/') && doc.components.schemas[name], `${ref} resolves`);
    }
    for (const name of ['Instance', 'Service', 'ServiceSummary', 'Namespace', 'Error']) {
      assert.ok(doc.components.schemas[name], `component ${name}`);
    }
    assert.ok(!JSON.stringify(doc).includes('$defs'), 'no document-relative $defs');
  });

  it('generates the request and answer schemas from the zod schemas', () => {
    const register = doc.paths['/v1/instances']?.post;
    const body = register?.requestBody?.content['application/json'].schema as {
      required: string[];
      properties: Record<string, { maximum?: number; default?: unknown }>;
      additionalProperties: boolean;
    };
    assert.deepEqual([...body.required].sort(), ['ip', 'port', 'service']);
    assert.equal(body.properties['weight']?.maximum, 10_000);
    assert.equal(body.properties['weight']?.default, 100);
    assert.equal(body.properties['namespace']?.default, 'public');
    assert.equal(body.additionalProperties, false);
    assert.equal(body.properties['zone'], undefined, 'the zone is never taken from the client');

    const getService = doc.paths['/v1/services/{namespace}/{group}/{service}']?.get;
    const query = new Map(getService?.parameters.filter((p) => p.in === 'query').map((p) => [p.name, p]));
    for (const name of ['consistent', 'healthyOnly', 'clusters', 'labels', 'waitIndex', 'wait']) {
      assert.ok(query.has(name), `query parameter ${name}`);
      assert.equal(query.get(name)?.required, false);
    }
    assert.ok(getService?.responses['404'] && getService.responses['429']);
    const answer = getService?.responses['200']?.content['application/json'].schema as {
      properties: Record<string, unknown>;
    };
    assert.deepEqual(answer.properties['instances'], {
      type: 'array',
      items: { $ref: '#/components/schemas/Instance' },
    });

    const list = doc.paths['/v1/services']?.get;
    const pageSize = list?.parameters.find((p) => p.name === 'pageSize');
    assert.equal(pageSize?.schema['maximum'], 1000);
  });

  it('serves a self-contained docs page listing every operation', async () => {
    const res = await fetch(`${s.url}/docs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = await res.text();
    for (const r of NATIVE_ROUTES) {
      assert.ok(html.includes(`id="${r.operationId}"`), `${r.operationId} on the page`);
      assert.ok(html.includes(openApiPath(r.url)), `${r.url} on the page`);
    }
    assert.ok(!/<script|<link|<img|@import|url\(/i.test(html), 'loads nothing');
    assert.ok(!/(src|href)="(https?:)?\/\//i.test(html), 'no external references');
  });
});
