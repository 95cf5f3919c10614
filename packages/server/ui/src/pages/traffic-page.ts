import { type ServiceRow, serviceName, type ZoneStatus } from '../backend.js';
import { learnZones, loading, problem, shareBar, zoneChip, zoneStateBadge } from '../components.js';
import { field, openDialog, readNumber } from '../dialog.js';
import { h, render, tableRegion } from '../dom.js';
import { errorText } from '../http.js';
import { type Page, type PageContext, Poller } from '../page.js';
import { href } from '../router.js';
import { previewShares } from '../share-preview.js';
import { notify } from '../toast.js';

/**
 * Zone traffic: each zone's weight (0 drains it, 100 is full), set with a confirmation that
 * previews the resulting shares; once applied the page shows the preview until the federation
 * reports the new weight, then the real shares.
 */

const REFRESH_MS = 3000;
const CONFIRM_POLL_MS = 400;
const CONFIRM_WAIT_MS = 15_000;
const PREVIEW_ROWS_MAX = 6;
const SHARE_ROWS_MAX = 200;
const PRESETS = [0, 30, 70, 100] as const;

interface Pending {
  readonly zone: string;
  readonly weight: number;
}

export function trafficPage(ctx: PageContext): Page {
  const { backend } = ctx;
  const federation = backend.mode === 'federation';
  let zones: readonly ZoneStatus[] = [];
  let services: readonly ServiceRow[] = [];
  let pending: Pending | null = null;
  let loaded = false;
  let disposed = false;
  const status = h('p', { class: 'muted', role: 'status' });
  const body = h('div', null, loading('zone weights'));
  render(
    ctx.root,
    h('h1', { tabindex: -1 }, 'Zone traffic'),
    h(
      'p',
      { class: 'lead' },
      'A zone weight from 0 to 100 scales the effective weight of every instance in that zone in the federation’s merged view. ',
      '0 drains the zone: gateways stop sending it traffic. Weights are stored in each zone’s own registry.',
    ),
    status,
    body,
  );

  const weightsNow = (): Map<string, number> => new Map(zones.map((z) => [z.zone, z.weight]));
  const weightsNext = (p: Pending): Map<string, number> => new Map([...weightsNow(), [p.zone, p.weight]]);

  const draw = (): void => {
    if (!loaded) return;
    const parts: HTMLElement[] = [zonesTable()];
    if (federation) parts.push(sharesSection());
    else {
      parts.push(
        h(
          'p',
          { class: 'notice' },
          'This is one zone’s registry: the shares between zones are computed by the federation. Open the federation’s UI to see them.',
        ),
      );
    }
    render(body, ...parts);
  };

  const zonesTable = (): HTMLElement => {
    const rows = zones.map((z) => {
      const shown = pending?.zone === z.zone ? pending.weight : z.weight;
      const fill = h('span', { class: 'weight-fill' });
      fill.style.width = `${shown}%`;
      return h(
        'tr',
        { 'data-zone': z.zone },
        h('th', { scope: 'row' }, zoneChip(z.zone)),
        h('td', null, zoneStateBadge(z)),
        h(
          'td',
          { class: 'weight-cell' },
          h('span', { class: 'weight-bar', 'aria-hidden': 'true' }, fill),
          h('span', { class: 'num', 'data-weight': String(shown) }, String(shown)),
          pending?.zone === z.zone ? h('span', { class: 'tag' }, 'applying') : null,
        ),
        h('td', { class: 'num' }, `${z.healthyInstances}/${z.instances}`),
        h(
          'td',
          { class: 'actions' },
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn-small',
              'data-focus': `set:${z.zone}`,
              'data-action': 'set-weight',
              disabled: pending !== null,
              onclick: () => void askWeight(z, z.weight),
            },
            'Set weight…',
          ),
          z.weight > 0
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'btn btn-small btn-danger-quiet',
                  'data-focus': `drain:${z.zone}`,
                  'data-action': 'drain',
                  disabled: pending !== null,
                  onclick: () => void askWeight(z, 0),
                },
                `Drain ${z.zone}`,
              )
            : h(
                'button',
                {
                  type: 'button',
                  class: 'btn btn-small',
                  'data-focus': `restore:${z.zone}`,
                  'data-action': 'restore',
                  disabled: pending !== null,
                  onclick: () => void askWeight(z, 100),
                },
                `Restore ${z.zone}`,
              ),
        ),
      );
    });
    const table = h(
      'table',
      { class: 'zones-table' },
      h('caption', { class: 'visually-hidden' }, 'Zone weights'),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ...['Zone', 'State', 'Weight', 'Healthy instances', 'Actions'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h('tbody', null, ...rows),
    );
    return h('section', { class: 'card' }, h('h2', null, 'Zones'), tableRegion('Zone weights', table));
  };

  const sharesFor = (row: ServiceRow): { shares: Record<string, number>; preview: boolean } => {
    if (pending === null) {
      const shares: Record<string, number> = {};
      for (const [z, c] of Object.entries(row.zones)) shares[z] = c.share;
      return { shares, preview: false };
    }
    return { shares: { ...previewShares(row.zones, weightsNow(), weightsNext(pending)).shares }, preview: true };
  };

  const sharesSection = (): HTMLElement => {
    const rows = services.slice(0, SHARE_ROWS_MAX).map((r) => {
      const { shares, preview } = sharesFor(r);
      return h(
        'tr',
        { 'data-service': serviceName(r) },
        h('th', { scope: 'row' }, h('a', { href: href({ page: 'service', ref: r }) }, r.service)),
        h('td', { class: 'muted' }, `${r.namespace} / ${r.group}`),
        h('td', { class: 'share-cell' }, shareBar(shares, { pending: preview })),
      );
    });
    const table = h(
      'table',
      { class: 'shares-table' },
      h('caption', { class: 'visually-hidden' }, 'Traffic share by service'),
      h(
        'thead',
        null,
        h('tr', null, ...['Service', 'Namespace / group', 'Share per zone'].map((c) => h('th', { scope: 'col' }, c))),
      ),
      h('tbody', null, ...rows),
    );
    return h(
      'section',
      { class: 'card' },
      h('h2', null, 'Traffic share by service'),
      pending
        ? h(
            'p',
            { class: 'notice', role: 'status' },
            `Preview: ${pending.zone} set to ${pending.weight}. The real shares replace it as soon as the federation applies the weight.`,
          )
        : null,
      services.length === 0
        ? h('p', { class: 'empty' }, 'No services are registered yet.')
        : tableRegion('Traffic share by service', table),
      services.length > SHARE_ROWS_MAX
        ? h('p', { class: 'muted' }, `The first ${SHARE_ROWS_MAX} of ${services.length} services are shown.`)
        : null,
    );
  };

  const askWeight = async (zone: ZoneStatus, proposed: number): Promise<void> => {
    let chosen = proposed;
    const input = h('input', { name: 'weight', type: 'number', min: 0, max: 100, step: 1, value: proposed });
    const preview = h('div', { class: 'preview', 'aria-live': 'polite' });
    const drawPreview = (): void => {
      const n = Number(input.value);
      if (!federation || !Number.isInteger(n) || n < 0 || n > 100) {
        render(preview);
        return;
      }
      const next = weightsNext({ zone: zone.zone, weight: n });
      const shown = services.filter((s) => s.zones[zone.zone] !== undefined).slice(0, PREVIEW_ROWS_MAX);
      let estimated = false;
      const rows = shown.map((s) => {
        const p = previewShares(s.zones, weightsNow(), next);
        estimated ||= p.estimated;
        return h('li', null, h('span', { class: 'preview-name' }, s.service), shareBar(p.shares, { pending: true }));
      });
      render(
        preview,
        h('h3', null, `Resulting shares with ${zone.zone} at ${n}`),
        rows.length > 0
          ? h('ul', { class: 'preview-list' }, ...rows)
          : h('p', { class: 'muted' }, `No service has instances in ${zone.zone}.`),
        estimated
          ? h('p', { class: 'muted small' }, 'Estimated from healthy instance counts (the zone is drained now).')
          : null,
      );
    };
    input.addEventListener('input', drawPreview);
    const presets = h(
      'div',
      { class: 'presets', role: 'group', 'aria-label': 'Common weights' },
      ...PRESETS.map((w) =>
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small',
            onclick: () => {
              input.value = String(w);
              drawPreview();
            },
          },
          w === 0 ? 'Drain (0)' : String(w),
        ),
      ),
    );
    const ok = await openDialog({
      title: `Traffic weight of ${zone.zone}`,
      name: 'zone-weight',
      body: [
        h('p', null, `${zone.zone} is at ${zone.weight} now.`),
        field('Weight (0 to 100)', input, '0 drains the zone; 100 is full weight.'),
        presets,
        preview,
      ],
      submitLabel: 'Apply',
      danger: proposed === 0,
      onOpen: drawPreview,
      onSubmit: (form) => {
        const n = readNumber(form, 'weight', 0, 100, true);
        if (typeof n === 'string') return n;
        chosen = n;
        return null;
      },
    });
    if (!ok) return;
    await apply(zone.zone, chosen);
  };

  const apply = async (zone: string, weight: number): Promise<void> => {
    pending = { zone, weight };
    draw();
    try {
      await backend.setZoneWeight(zone, weight);
    } catch (err) {
      pending = null;
      draw();
      notify(`The weight of ${zone} was not changed: ${errorText(err)}`, 'error');
      return;
    }
    notify(weight === 0 ? `${zone} set to 0: it is being drained.` : `${zone} set to ${weight}.`);
    const deadline = Date.now() + CONFIRM_WAIT_MS;
    while (!disposed && Date.now() < deadline) {
      try {
        const zs = await backend.zones();
        if (zs.find((z) => z.zone === zone)?.weight === weight) {
          [zones, services] = [zs, federation ? await backend.services() : services];
          pending = null;
          draw();
          return;
        }
      } catch {
        // keep waiting; the regular refresh reports lasting failures
      }
      await new Promise((done) => setTimeout(done, CONFIRM_POLL_MS));
    }
    if (disposed) return;
    pending = null;
    notify(`The weight of ${zone} was stored, but the view does not show it yet.`, 'error');
    poller.kick();
  };

  const poller = new Poller(async () => {
    if (pending !== null) return;
    try {
      const [zs, ss] = await Promise.all([backend.zones(), federation ? backend.services() : Promise.resolve([])]);
      if (pending !== null) return;
      zones = zs;
      services = ss;
      learnZones(zones.map((z) => z.zone));
      loaded = true;
      status.textContent = '';
      draw();
    } catch (err) {
      if (!loaded)
        render(
          body,
          problem(`The zone weights could not be loaded. ${errorText(err)}`, () => poller.kick()),
        );
      else status.textContent = `Not current: ${errorText(err)}`;
    }
  }, REFRESH_MS).start();

  return {
    dispose: () => {
      disposed = true;
      poller.stop();
    },
  };
}
