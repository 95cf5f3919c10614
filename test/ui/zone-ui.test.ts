// The admin UI served by one zone server, driven in a real headless Chromium: the overview, finding
// a service with the search and filters, the live service page and its actions (disable, weight,
// deregister, protect threshold) confirmed through REST, errors from the API shown to the user,
// keyboard use of dialogs, the zone weight, and the sign-in flow. Screenshots go to test-artifacts/ui/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  eventually,
  getJson,
  LAPTOP,
  launchBrowser,
  openPage,
  PHONE,
  SKIP_WITHOUT_CHROMIUM,
  screenshot,
  sendJson,
} from './helpers/browser.js';
import { registerInstances, startTestZone, type TestZone } from './helpers/zone.js';

interface InstanceAnswer {
  instance: { enabled: boolean; weight: number };
}

const ORDERS = '/services/public/DEFAULT_GROUP/orders';

describe('admin UI on a zone server', { skip: SKIP_WITHOUT_CHROMIUM, timeout: 90_000 }, () => {
  let zone: TestZone;
  let browser: Browser;

  before(async () => {
    zone = await startTestZone('az1');
    await registerInstances(zone.url, 'orders', ['10.0.0.1', '10.0.0.2', '10.0.0.3'], 8080);
    await registerInstances(zone.url, 'payments', ['10.0.1.1'], 9090);
    await sendJson('PUT', `${zone.url}/v1/namespaces/staging`, { description: 'staging' });
    await registerInstances(zone.url, 'billing', ['10.0.2.1'], 7070, { namespace: 'staging', group: 'blue' });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await zone?.stop();
  });

  const instanceUrl = (ip: string, service = 'orders', port = 8080): string =>
    `${zone.url}/v1/instances?service=${service}&ip=${ip}&port=${port}`;

  test('overview, search, live service page, instance actions, zone weight', async () => {
    const { context, page, errors } = await openPage(browser, LAPTOP);
    try {
      // /ui redirects to /ui/; the page finds out it runs on a zone server.
      await page.goto(`${zone.url}/ui`);
      assert.equal(new URL(page.url()).pathname, '/ui/');
      const card = page.locator('.zone-card[data-zone="az1"]');
      await card.waitFor();
      await page.locator('tr[data-replica="n1"]', { hasText: 'leader' }).waitFor();
      assert.match(await page.locator('#where').innerText(), /zone az1/);
      await screenshot(page, 'zone-overview-laptop');

      // Services, reached by keyboard from the navigation.
      await page.locator('a[data-nav="services"]').focus();
      await page.keyboard.press('Enter');
      await page.locator('tr[data-service="public/DEFAULT_GROUP/orders"]').waitFor();
      assert.equal(await page.evaluate<string | undefined>('document.activeElement?.tagName'), 'H1');
      await page.getByLabel('Search').fill('ORD');
      await page.locator('tr[data-service]').first().waitFor();
      assert.deepEqual(await serviceRows(page), ['public/DEFAULT_GROUP/orders']);
      await page.getByLabel('Search').fill('');
      await page.getByLabel('Namespace').selectOption('staging');
      assert.deepEqual(await serviceRows(page), ['staging/blue/billing']);
      assert.deepEqual(await page.getByLabel('Group').locator('option').allInnerTexts(), ['All groups', 'blue']);
      await page.getByLabel('Namespace').selectOption('');
      assert.equal((await serviceRows(page)).length, 3);
      await page.getByLabel('Search').fill('orders');
      assert.match(await page.locator('tr[data-service="public/DEFAULT_GROUP/orders"]').innerText(), /3\/3/);
      await screenshot(page, 'zone-services-laptop');

      // The service page goes live on the watch.
      await page.locator('tr[data-service="public/DEFAULT_GROUP/orders"] a').click();
      await page.locator('[data-watch="live"]').waitFor();
      const row = (ip: string) => page.locator(`tr[data-instance="${ip}:8080"]`);
      await row('10.0.0.2').waitFor();

      // Disable: the row follows (from the watch), REST confirms.
      await row('10.0.0.2')
        .getByRole('button', { name: /^Disable/ })
        .click();
      await page.locator('tr[data-instance="10.0.0.2:8080"][data-enabled="false"]').waitFor();
      assert.equal(await row('10.0.0.2').locator('[data-effective]').innerText(), '0');
      const disabled = await getJson<InstanceAnswer>(instanceUrl('10.0.0.2'));
      assert.equal(disabled.body.instance.enabled, false);

      // A change made elsewhere arrives over the watch.
      await registerInstances(zone.url, 'orders', ['10.0.0.9'], 8080);
      await row('10.0.0.9').waitFor();

      // The weight dialog: focus starts in it, Tab stays in it, Escape closes it and focus returns.
      const weightButton = row('10.0.0.1').getByRole('button', { name: /^Weight/ });
      await weightButton.click();
      const dialog = page.locator('dialog[data-dialog="weight"]');
      await dialog.waitFor();
      assert.equal(
        await page.evaluate<string | null | undefined>("document.activeElement?.getAttribute('name')"),
        'weight',
      );
      for (let i = 0; i < 6; i++) {
        await page.keyboard.press('Tab');
        assert.ok(
          await page.evaluate<boolean>("document.activeElement?.closest('dialog') !== null"),
          'focus left the dialog',
        );
      }
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      assert.equal(
        await page.evaluate<string | null | undefined>("document.activeElement?.getAttribute('data-action')"),
        'weight',
      );
      // Out of range is refused in the dialog; a good value is applied.
      await weightButton.click();
      await dialog.locator('input[name="weight"]').fill('20000');
      await dialog.getByRole('button', { name: 'Set weight' }).click();
      await dialog.getByRole('alert').filter({ hasText: 'from 0 to 10000' }).waitFor();
      await dialog.locator('input[name="weight"]').fill('250');
      await page.keyboard.press('Enter');
      await dialog.waitFor({ state: 'detached' });
      await eventually('weight 250 in REST', async () => {
        const r = await getJson<InstanceAnswer>(instanceUrl('10.0.0.1'));
        return r.body.instance.weight === 250 ? true : undefined;
      });
      await row('10.0.0.1').locator('td.num', { hasText: '250' }).first().waitFor();
      await screenshot(page, 'zone-service-laptop');

      // An API refusal is shown with its code and message.
      await page.route('**/v1/instances', (route) =>
        route.request().method() === 'PATCH'
          ? route.fulfill({
              status: 503,
              contentType: 'application/json',
              body: JSON.stringify({ code: 'NO_LEADER', message: 'the zone has no leader right now; retry shortly' }),
            })
          : route.continue(),
      );
      await row('10.0.0.3')
        .getByRole('button', { name: /^Disable/ })
        .click();
      await page.locator('.toast-error', { hasText: 'NO_LEADER: the zone has no leader right now' }).waitFor();
      await page.unroute('**/v1/instances');
      const refused = errors.findIndex((e) => e.includes('503'));
      assert.ok(refused >= 0, 'the refused PATCH was made');
      errors.splice(refused, 1);

      // Deregister asks first, then the row leaves and REST no longer knows the instance.
      await row('10.0.0.3')
        .getByRole('button', { name: /^Deregister/ })
        .click();
      const confirm = page.locator('dialog[data-dialog="confirm"]');
      await confirm.getByRole('button', { name: 'Deregister' }).click();
      await row('10.0.0.3').waitFor({ state: 'detached' });
      assert.equal((await getJson(instanceUrl('10.0.0.3'))).status, 404);

      // The protect threshold.
      await page.getByRole('button', { name: 'Edit…' }).click();
      const threshold = page.locator('dialog[data-dialog="threshold"]');
      await threshold.locator('input[name="threshold"]').fill('0.5');
      await threshold.getByRole('button', { name: 'Save' }).click();
      await eventually('protect threshold 0.5 in REST', async () => {
        const r = await getJson<{ service: { protectThreshold: number } }>(
          `${zone.url}/v1/services/public/DEFAULT_GROUP/orders`,
        );
        return r.body.service.protectThreshold === 0.5 ? true : undefined;
      });

      // The zone weight, with its confirmation dialog.
      await page.locator('a[data-nav="traffic"]').click();
      await page.locator('tr[data-zone="az1"]').getByRole('button', { name: 'Set weight…' }).click();
      const zoneDialog = page.locator('dialog[data-dialog="zone-weight"]');
      await zoneDialog.getByRole('button', { name: '30' }).click();
      await zoneDialog.getByRole('button', { name: 'Apply' }).click();
      await page.locator('tr[data-zone="az1"] [data-weight="30"]').waitFor();
      await page.locator('.toast', { hasText: 'az1 set to 30' }).waitFor();
      const weights = await getJson<{ weights: { zone: string; weight: number }[] }>(`${zone.url}/v1/zones/weights`);
      assert.deepEqual(weights.body.weights, [{ zone: 'az1', weight: 30 }]);
      await page.locator('tr[data-zone="az1"] .tag', { hasText: 'applying' }).waitFor({ state: 'detached' });
      await screenshot(page, 'zone-traffic-laptop');

      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test('the watch reconnects after the replica restarts and resumes from its revision', async () => {
    const { context, page, errors } = await openPage(browser, LAPTOP);
    const subscribes: { fromRevision?: number }[] = [];
    page.on('websocket', (ws) =>
      ws.on('framesent', (frame) => {
        if (typeof frame.payload === 'string') subscribes.push(JSON.parse(frame.payload) as { fromRevision?: number });
      }),
    );
    try {
      await page.goto(`${zone.url}/ui/#${ORDERS}`);
      await page.locator('[data-watch="live"]').waitFor();
      assert.equal(subscribes.length, 1);
      assert.equal(subscribes[0]?.fromRevision, undefined);
      await zone.restart();
      // The socket dropped; the page says so, then comes back on its own.
      await page.locator('[data-watch="live"]').waitFor();
      assert.ok(subscribes.length >= 2, 'subscribed again');
      const resumed = subscribes[subscribes.length - 1]!;
      assert.equal(typeof resumed.fromRevision, 'number', 'the new subscription resumes from a revision');
      // And changes flow again.
      await registerInstances(zone.url, 'orders', ['10.0.0.10'], 8080);
      await page.locator('tr[data-instance="10.0.0.10:8080"]').waitFor();
      // The restart itself may be logged by Chromium as a failed socket; nothing else may fail.
      assert.deepEqual(
        errors.filter((e) => !e.includes('WebSocket')),
        [],
      );
    } finally {
      await context.close();
    }
  });

  test('phone width: every page fits and works', async () => {
    const { context, page, errors } = await openPage(browser, PHONE);
    try {
      for (const [hash, ready, name] of [
        ['#/', '.zone-card', 'zone-overview-phone'],
        ['#/services', 'tr[data-service]', 'zone-services-phone'],
        [`#${ORDERS}`, '[data-watch="live"]', 'zone-service-phone'],
        ['#/traffic', 'tr[data-zone]', 'zone-traffic-phone'],
      ] as const) {
        await page.goto(`${zone.url}/ui/${hash}`);
        await page.locator(ready).first().waitFor();
        // The page itself never scrolls sideways: wide tables scroll inside their own region.
        await screenshot(page, name);
        const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        assert.ok(overflow <= 0, `${hash} is ${overflow}px wider than the phone`);
      }
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test('sign-in: a 401 opens the form; the token goes on fetches and on the watch socket', async () => {
    const { context, page, errors } = await openPage(browser, LAPTOP);
    const token = 'tok-123.abc_DEF';
    const logins: unknown[] = [];
    // The zone server has no authentication: the browser's requests pass through a stand-in for it.
    await page.route('**/v1/**', async (route) => {
      const req = route.request();
      if (req.url().endsWith('/v1/auth/login')) {
        const body = req.postDataJSON() as { username: string; password: string };
        logins.push(body);
        return body.password === 'right'
          ? route.fulfill({
              contentType: 'application/json',
              body: JSON.stringify({
                accessToken: token,
                tokenType: 'Bearer',
                expiresInS: 3600,
                username: body.username,
              }),
            })
          : route.fulfill({
              status: 401,
              contentType: 'application/json',
              body: JSON.stringify({ code: 'UNAUTHENTICATED', message: 'wrong user name or password' }),
            });
      }
      if (req.headers()['authorization'] !== `Bearer ${token}`) {
        return route.fulfill({
          status: 401,
          contentType: 'application/json',
          body: JSON.stringify({ code: 'UNAUTHENTICATED', message: 'sign in to use this registry' }),
        });
      }
      return route.continue();
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    const handshakes: Record<string, string>[] = [];
    cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => handshakes.push(e.request.headers));
    try {
      await page.goto(`${zone.url}/ui/#${ORDERS}`);
      const login = page.locator('dialog[data-dialog="login"]');
      await login.waitFor();
      await login.getByText('sign in to use this registry').waitFor();
      await login.getByLabel('User name').fill('admin');
      await login.getByLabel('Password').fill('wrong');
      await login.getByRole('button', { name: 'Sign in' }).click();
      await login.getByRole('alert').filter({ hasText: 'Wrong user name or password' }).waitFor();
      await login.getByLabel('Password').fill('right');
      await page.keyboard.press('Enter');
      await login.waitFor({ state: 'detached' });
      await page.locator('tr[data-instance="10.0.0.1:8080"]').waitFor();
      await page.locator('#user', { hasText: 'admin' }).waitFor();
      assert.equal(await page.evaluate<string | null>("sessionStorage.getItem('cairn.accessToken')"), token);
      assert.deepEqual(logins, [
        { username: 'admin', password: 'wrong' },
        { username: 'admin', password: 'right' },
      ]);
      // The watch socket carries the token as a second subprotocol; the server answers with cairn.v1.
      await page.locator('[data-watch="live"]').waitFor();
      const offered = handshakes.map((h) => h['Sec-WebSocket-Protocol'] ?? h['sec-websocket-protocol']);
      const expected = `cairn.v1, cairn.bearer.${Buffer.from(token).toString('base64url')}`;
      assert.ok(offered.includes(expected), `offered subprotocols: ${JSON.stringify(offered)}`);
      await screenshot(page, 'zone-signed-in-laptop');
      // Sign out forgets the token.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.locator('dialog[data-dialog="login"]').waitFor();
      assert.equal(await page.evaluate<string | null>("sessionStorage.getItem('cairn.accessToken')"), null);
      assert.deepEqual(
        errors.filter((e) => !e.includes('401')),
        [],
      );
    } finally {
      await context.close();
    }
  });
});

async function serviceRows(page: Page): Promise<string[]> {
  return page.locator('tr[data-service]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service') ?? ''));
}
