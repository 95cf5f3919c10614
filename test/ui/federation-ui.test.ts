// The admin UI of a `cairn dev`-style cluster — two zones of three replica processes each and a
// federation node — driven in a real headless Chromium: the overview of both zones and their
// replicas, finding a service, disabling an instance and seeing it leave the federation's view
// (effective weight 0, shares move), draining a zone and seeing its share go to zero, then
// restoring it. Every step is confirmed through REST. Screenshots go to test-artifacts/ui/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import {
  eventually,
  getJson,
  LAPTOP,
  launchBrowser,
  openPage,
  PHONE,
  SKIP_WITHOUT_CHROMIUM,
  screenshot,
} from './helpers/browser.js';
import { federationModules, zoneClusterModule } from './helpers/server-modules.js';
import { registerInstances } from './helpers/zone.js';

interface ZoneCountAnswer {
  total: number;
  healthy: number;
  serving: number;
  share: number;
}
interface ServicesAnswer {
  services: { service: string; zones: Record<string, ZoneCountAnswer> }[];
}
interface ServiceAnswer {
  service: { instances: { zone: string; ip: string; enabled: boolean; effectiveWeight: number }[] };
}
interface ZonesAnswer {
  zones: { zone: string; state: string; weight: number }[];
}

const federation = await federationModules();
const SKIP =
  SKIP_WITHOUT_CHROMIUM ?? ('missing' in federation ? `the federation is not built: ${federation.missing}` : undefined);
const ORDERS = '/services/public/DEFAULT_GROUP/orders';

describe('admin UI on the federation of two zones', { skip: SKIP, timeout: 120_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  let url = '';
  let zoneUrls: Record<string, string[]> = {};
  let browser: Browser;

  before(async () => {
    if ('missing' in federation) return;
    const { startZoneCluster } = await zoneClusterModule();
    const [az1, az2] = await Promise.all([
      startZoneCluster({ zone: 'az1', replicas: 3 }),
      startZoneCluster({ zone: 'az2', replicas: 3 }),
    ]);
    cleanups.push(
      () => az1.stop(),
      () => az2.stop(),
    );
    zoneUrls = { az1: az1.urls, az2: az2.urls };
    for (const [zone, urls] of Object.entries(zoneUrls)) {
      const n = zone.slice(2);
      await registerInstances(urls[0]!, 'orders', [`10.${n}.0.1`, `10.${n}.0.2`, `10.${n}.0.3`], 8080);
      await registerInstances(urls[0]!, 'payments', [`10.${n}.1.1`, `10.${n}.1.2`], 9090);
    }
    const config = federation.config.loadFederationConfig(
      [
        '--listen',
        '127.0.0.1:0',
        '--dns',
        'off',
        '--zone',
        `az1=${az1.urls.join(',')}`,
        '--zone',
        `az2=${az2.urls.join(',')}`,
        '--log-level',
        'silent',
        '--ready-grace-ms',
        '2000',
      ],
      {},
    );
    const server = await federation.server.startFederationServer(config);
    cleanups.push(() => server.close());
    url = `http://${server.address}`;
    await eventually('the federation to see 6 orders instances', async () => {
      const r = await getJson<ServiceAnswer>(`${url}/v1${ORDERS}`);
      return r.status === 200 && r.body.service.instances.length === 6 ? true : undefined;
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });

  const ordersShares = async (): Promise<Record<string, ZoneCountAnswer>> => {
    const r = await getJson<ServicesAnswer>(`${url}/v1/services`);
    const orders = r.body.services.find((s) => s.service === 'orders');
    assert.ok(orders, 'orders is listed');
    return orders.zones;
  };

  test('find a service, disable an instance, drain a zone', async () => {
    const { context, page, errors } = await openPage(browser, LAPTOP);
    try {
      // Overview: both zones live, three replicas each, one leader each.
      await page.goto(`${url}/ui/`);
      assert.equal(await page.locator('#where').innerText(), 'federation');
      for (const zone of ['az1', 'az2']) {
        const card = page.locator(`.zone-card[data-zone="${zone}"]`);
        await card.locator('.badge', { hasText: 'live' }).first().waitFor();
        await eventually(`three replicas of ${zone}, one leader`, async () => {
          const rows = await card.locator('tr[data-replica]').count();
          const leaders = await card.locator('tr[data-replica] .role.leader').count();
          return rows === 3 && leaders === 1 ? true : undefined;
        });
      }
      await screenshot(page, 'federation-overview-laptop');

      // Services: search, then the per-zone counts and the 50/50 share.
      await page.locator('a[data-nav="services"]').click();
      await page.getByLabel('Search').fill('ord');
      const ordersRow = page.locator('tr[data-service="public/DEFAULT_GROUP/orders"]');
      await ordersRow.waitFor();
      assert.deepEqual(await serviceRows(page), ['public/DEFAULT_GROUP/orders']);
      assert.equal(await shareText(ordersRow, 'az1'), 'az1 50%');
      assert.equal(await shareText(ordersRow, 'az2'), 'az2 50%');
      assert.match(await ordersRow.locator('.zone-counts li[data-zone="az1"]').innerText(), /3\/3/);
      await screenshot(page, 'federation-services-laptop');

      // Disable 10.1.0.2 in az1 through the federation: it leaves the served view.
      await ordersRow.getByRole('link', { name: 'orders' }).click();
      await page.locator('[data-watch="live"]').waitFor();
      const row = page.locator('tr[data-instance="10.1.0.2:8080"][data-zone="az1"]');
      await row.getByRole('button', { name: /^Disable/ }).click();
      await page.locator('tr[data-instance="10.1.0.2:8080"][data-enabled="false"] [data-effective="0"]').waitFor();
      const detail = page.locator('.card', { has: page.locator('h2', { hasText: 'Traffic share' }) });
      await eventually('az1 at 40% on the service page', async () =>
        (await shareText(detail, 'az1')) === 'az1 40%' ? true : undefined,
      );
      const fed = await getJson<ServiceAnswer>(`${url}/v1${ORDERS}`);
      const disabled = fed.body.service.instances.find((i) => i.ip === '10.1.0.2');
      assert.deepEqual(
        { enabled: disabled?.enabled, effectiveWeight: disabled?.effectiveWeight },
        { enabled: false, effectiveWeight: 0 },
      );
      const inZone = await getJson<{ instance: { enabled: boolean } }>(
        `${zoneUrls['az1']![1]}/v1/instances?service=orders&ip=10.1.0.2&port=8080`,
      );
      assert.equal(inZone.body.instance.enabled, false);
      assert.equal((await ordersShares())['az1']?.serving, 2);
      await screenshot(page, 'federation-service-laptop');

      // Drain az1: the confirmation previews 0%, then the page shows the real shares.
      await page.locator('a[data-nav="traffic"]').click();
      await page.locator('tr[data-zone="az1"]').getByRole('button', { name: 'Drain az1' }).click();
      const dialog = page.locator('dialog[data-dialog="zone-weight"]');
      await dialog.waitFor();
      const preview = dialog.locator('.preview-list li', { hasText: 'orders' });
      assert.equal(await shareText(preview, 'az1'), 'az1 0%');
      assert.equal(await shareText(preview, 'az2'), 'az2 100%');
      await screenshot(page, 'federation-drain-dialog-laptop');
      await dialog.getByRole('button', { name: 'Apply' }).click();
      await dialog.waitFor({ state: 'detached' });
      const sharesRow = page.locator('.shares-table tr[data-service="public/DEFAULT_GROUP/orders"]');
      await eventually('the real shares after draining az1', async () => {
        const pending = await sharesRow.locator('.share.pending').count();
        const az1 = await shareText(sharesRow, 'az1');
        return pending === 0 && az1 === 'az1 0%' ? true : undefined;
      });
      assert.equal(await shareText(sharesRow, 'az2'), 'az2 100%');
      await page.locator('tr[data-zone="az1"] [data-weight="0"]').waitFor();
      const zones = await getJson<ZonesAnswer>(`${url}/v1/zones`);
      assert.equal(zones.body.zones.find((z) => z.zone === 'az1')?.weight, 0);
      assert.equal((await ordersShares())['az1']?.share, 0);
      const stored = await getJson<{ weights: { zone: string; weight: number }[] }>(
        `${zoneUrls['az1']![0]}/v1/zones/weights`,
      );
      assert.deepEqual(stored.body.weights, [{ zone: 'az1', weight: 0 }]);
      await screenshot(page, 'federation-traffic-laptop');

      // Restore az1: its share comes back (2 of 5 serving instances: 40%).
      await page.locator('tr[data-zone="az1"]').getByRole('button', { name: 'Restore az1' }).click();
      await page.locator('dialog[data-dialog="zone-weight"]').getByRole('button', { name: 'Apply' }).click();
      await eventually('az1 back at 40%', async () => {
        const pending = await sharesRow.locator('.share.pending').count();
        return pending === 0 && (await shareText(sharesRow, 'az1')) === 'az1 40%' ? true : undefined;
      });
      assert.equal((await ordersShares())['az1']?.share, 0.4);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test('phone width screenshots of every page', async () => {
    const { context, page, errors } = await openPage(browser, PHONE);
    try {
      for (const [hash, ready, name] of [
        ['#/', '.zone-card tr[data-replica]', 'federation-overview-phone'],
        ['#/services', 'tr[data-service] .share', 'federation-services-phone'],
        [`#${ORDERS}`, '[data-watch="live"]', 'federation-service-phone'],
        ['#/traffic', '.shares-table tr[data-service]', 'federation-traffic-phone'],
      ] as const) {
        await page.goto(`${url}/ui/${hash}`);
        await page.locator(ready).first().waitFor();
        await screenshot(page, name);
        const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        assert.ok(overflow <= 0, `${hash} is ${overflow}px wider than the phone`);
      }
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
});

async function serviceRows(page: Page): Promise<string[]> {
  return page.locator('tr[data-service]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service') ?? ''));
}

/** The "az1 40%" label of a share bar inside `scope`. */
async function shareText(scope: Locator, zone: string): Promise<string> {
  return (await scope.locator(`.share-item[data-zone="${zone}"]`).first().innerText()).trim();
}
