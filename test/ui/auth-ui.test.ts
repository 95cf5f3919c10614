// The admin UI against a zone server with real authentication (an auth file), in a real headless
// Chromium: the sign-in form appears, a wrong password is refused, the right one signs in, the
// services page loads, and the live watch works with the token the browser offers as a WebSocket
// subprotocol (the server answers `cairn.v1`, never the token): a registration made over REST
// appears without a reload. Screenshots go to test-artifacts/ui/.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { LAPTOP, launchBrowser, openPage, SKIP_WITHOUT_CHROMIUM, screenshot } from './helpers/browser.js';
import {
  apiPluginsModule,
  REPO_ROOT,
  serverConfigModule,
  zoneClusterModule,
  zoneServerModule,
} from './helpers/server-modules.js';

type PasswordHashModule = typeof import('../../packages/server/src/auth/password-hash.js');
type StaticTokensModule = typeof import('../../packages/server/src/auth/static-tokens.js');

const authModule = async <T>(name: string): Promise<T> =>
  (await import(pathToFileURL(join(REPO_ROOT, 'packages/server/dist/src/auth', name)).href)) as T;

const PASSWORD = 'correct horse battery staple';
const OPS_TOKEN = 'ui-test-ops-token-0123456789';
const ORDERS = '/services/public/DEFAULT_GROUP/orders';

describe('admin UI sign-in against a zone with an auth file', { skip: SKIP_WITHOUT_CHROMIUM, timeout: 90_000 }, () => {
  let dir: string;
  let url: string;
  let close: (() => Promise<void>) | null = null;
  let browser: Browser;

  const register = async (ip: string): Promise<void> => {
    const res = await fetch(`${url}/v1/instances`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${OPS_TOKEN}` },
      body: JSON.stringify({ service: 'orders', ip, port: 8080, ephemeral: false }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`registering ${ip}: ${res.status} ${await res.text()}`);
  };

  before(async () => {
    const [{ startZoneServer }, { loadServerConfig }, { ZONE_API_PLUGINS }, { freePort }, hashes, tokens] =
      await Promise.all([
        zoneServerModule(),
        serverConfigModule(),
        apiPluginsModule(),
        zoneClusterModule(),
        authModule<PasswordHashModule>('password-hash.js'),
        authModule<StaticTokensModule>('static-tokens.js'),
      ]);
    dir = mkdtempSync(join(tmpdir(), 'cairn-ui-auth-'));
    const authFile = join(dir, 'auth.json');
    writeFileSync(
      authFile,
      JSON.stringify({
        tokenSecret: 'ui-test-token-secret-0123456789-0123456789',
        users: [
          {
            username: 'admin',
            passwordHash: await hashes.hashPassword(PASSWORD, { logN: 10, r: 8, p: 1 }),
            roles: [{ namespace: '*', role: 'admin' }],
          },
        ],
        tokens: [
          { name: 'ops', tokenHash: tokens.formatTokenHash(OPS_TOKEN), roles: [{ namespace: '*', role: 'admin' }] },
        ],
      }),
    );
    const port = await freePort();
    const config = loadServerConfig(
      [
        ...['--zone', 'az1', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data')],
        ...['--auth-file', authFile, '--log-level', 'silent', '--tick-ms', '20'],
      ],
      {},
    );
    const server = await startZoneServer(config, ZONE_API_PLUGINS);
    close = () => server.close();
    const deadline = Date.now() + 10_000;
    while (!server.registry.isLeader) {
      if (Date.now() > deadline) throw new Error('the single replica did not become leader');
      await new Promise((done) => setTimeout(done, 10));
    }
    url = `http://${server.address}`;
    await register('10.0.0.1');
    await register('10.0.0.2');
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await close?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('sign in (a wrong password refused), the services page, the live watch with the token', async () => {
    const { context, page, errors } = await openPage(browser, LAPTOP);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const offered: string[] = [];
    const answered: Record<string, string>[] = [];
    cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => {
      const h = e.request.headers as Record<string, string>;
      offered.push(h['Sec-WebSocket-Protocol'] ?? h['sec-websocket-protocol'] ?? '');
    });
    cdp.on('Network.webSocketHandshakeResponseReceived', (e) => answered.push(e.response.headers));
    try {
      await page.goto(`${url}/ui/#/services`);
      // The server answers 401: the sign-in form opens.
      const login = page.locator('dialog[data-dialog="login"]');
      await login.waitFor();
      await screenshot(page, 'zone-auth-sign-in-laptop');
      await login.getByLabel('User name').fill('admin');
      await login.getByLabel('Password').fill('not the password');
      await login.getByRole('button', { name: 'Sign in' }).click();
      await login.getByRole('alert').filter({ hasText: 'Wrong user name or password' }).waitFor();
      await login.getByLabel('Password').fill(PASSWORD);
      await page.keyboard.press('Enter');
      await login.waitFor({ state: 'detached' });
      await page.locator('#user', { hasText: 'admin' }).waitFor();

      // The services page loads with the token.
      await page.locator('tr[data-service="public/DEFAULT_GROUP/orders"]').waitFor();
      assert.match(await page.locator('tr[data-service="public/DEFAULT_GROUP/orders"]').innerText(), /2\/2/);
      await screenshot(page, 'zone-auth-services-laptop');

      // The service page goes live on the watch, authenticated by the subprotocol credential.
      await page.goto(`${url}/ui/#${ORDERS}`);
      await page.locator('[data-watch="live"]').waitFor();
      await page.locator('tr[data-instance="10.0.0.2:8080"]').waitFor();
      const token = await page.evaluate<string | null>("sessionStorage.getItem('cairn.accessToken')");
      assert.ok(token, 'the access token is kept for the tab');
      const bearer = `cairn.bearer.${Buffer.from(token).toString('base64url')}`;
      assert.ok(
        offered.some((p) => p === `cairn.v1, ${bearer}`),
        `offered subprotocols: ${JSON.stringify(offered)}`,
      );
      const protocols = answered.map((h) => h['Sec-WebSocket-Protocol'] ?? h['sec-websocket-protocol']);
      assert.ok(protocols.length > 0 && protocols.every((p) => p === 'cairn.v1'), JSON.stringify(protocols));
      assert.ok(!JSON.stringify(answered).includes(token), 'the token is never echoed');

      // A registration made over REST appears without a reload.
      await register('10.0.0.3');
      await page.locator('tr[data-instance="10.0.0.3:8080"]').waitFor();
      await screenshot(page, 'zone-auth-service-live-laptop');

      // Only the expected refusals: the first 401s that opened the form, and the wrong password.
      assert.deepEqual(
        errors.filter((e) => !e.includes('401')),
        [],
      );
    } finally {
      await context.close();
    }
  });
});
