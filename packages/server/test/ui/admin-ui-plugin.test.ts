// How the admin UI's files are served: the redirect to /ui/, content types, caching and security
// headers, only compiled modules from the scripts folder, where it runs, and a clear 503 when the
// browser code was never built.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from '../../src/api/error-handler.js';
import { adminUi, createAdminUi } from '../../src/ui/admin-ui-plugin.js';

async function appWith(plugin: (app: FastifyInstance, host: object) => Promise<void>, host: object) {
  const app = Fastify();
  installErrorHandler(app);
  await app.register(async (scope) => plugin(scope, host));
  await app.ready();
  return app;
}

test('serves the page, its styles and its modules with types, revalidation and a strict policy', async (t) => {
  const app = await appWith(adminUi, { registry: {} });
  t.after(() => app.close());

  const bare = await app.inject('/ui');
  assert.equal(bare.statusCode, 301);
  assert.equal(bare.headers.location, '/ui/');
  assert.equal((await app.inject('/')).headers.location, '/ui/');

  const page = await app.inject('/ui/');
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.equal(page.headers['cache-control'], 'no-cache');
  assert.ok(page.headers.etag);
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'.*connect-src 'self'/);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.match(page.body, /<script type="module" src="js\/main.js">/);
  const again = await app.inject({ url: '/ui/', headers: { 'if-none-match': String(page.headers.etag) } });
  assert.equal(again.statusCode, 304);

  assert.match(String((await app.inject('/ui/styles.css')).headers['content-type']), /^text\/css/);
  const main = await app.inject('/ui/js/main.js');
  assert.equal(main.statusCode, 200);
  assert.match(String(main.headers['content-type']), /javascript/);
  // Declarations and build info live in the same folder, but are not served.
  assert.equal((await app.inject('/ui/js/main.d.ts')).statusCode, 404);
  assert.equal((await app.inject('/ui/js/tsconfig.tsbuildinfo')).statusCode, 404);
  assert.equal((await app.inject('/ui/js/../../package.json')).statusCode, 404);

  const context = await app.inject('/ui/context.json');
  assert.deepEqual(context.json(), { mode: 'zone' });
});

test('tells the page it runs on the federation when given a view', async (t) => {
  const app = await appWith(adminUi, { view: {}, nodeId: 'f1' });
  t.after(() => app.close());
  assert.deepEqual((await app.inject('/ui/context.json')).json(), { mode: 'federation' });
});

test('leaves / alone when another surface owns it', async (t) => {
  const app = Fastify();
  app.get('/', async () => ({ mine: true }));
  await app.register(async (scope) => adminUi(scope, {}));
  await app.ready();
  t.after(() => app.close());
  assert.deepEqual((await app.inject('/')).json(), { mine: true });
});

test('answers 503 UNAVAILABLE, saying how to build it, when the UI is not built', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'cairn-ui-empty-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const app = await appWith(createAdminUi({ publicDir: empty, scriptsDir: empty }), {});
  t.after(() => app.close());
  for (const url of ['/ui', '/ui/', '/ui/js/main.js']) {
    const res = await app.inject(url);
    assert.equal(res.statusCode, 503, url);
    assert.equal(res.json().code, 'UNAVAILABLE');
    assert.match(res.json().message, /npx tsc -b/);
  }
});
