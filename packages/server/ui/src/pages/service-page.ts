import {
  type InstanceRow,
  type ServiceDetail,
  type ServiceRef,
  serviceName,
  summarize,
  type ZoneStatus,
} from '../backend.js';
import {
  enabledBadge,
  healthBadge,
  learnZones,
  loading,
  problem,
  shareBar,
  sortZones,
  zoneChip,
  zoneStateBadge,
} from '../components.js';
import { confirmDialog, field, openDialog, readNumber } from '../dialog.js';
import { durationMs, h, percent, render, tableRegion } from '../dom.js';
import { ApiError, errorText } from '../http.js';
import { LiveService } from '../live-service.js';
import { type Page, type PageContext, Poller } from '../page.js';
import { href } from '../router.js';
import { notify } from '../toast.js';
import { WatchClient, type WatchState } from '../watch-client.js';

/**
 * One service: its settings, then its instances grouped by zone with health, weights, liveness,
 * check and metadata, kept live by the watch. Actions: enable/disable, weight, deregister, and the
 * protect threshold. While the watch is down the page falls back to reading REST.
 */

const FALLBACK_REFRESH_MS = 5000;
const METADATA_SHOWN = 4;
const WEIGHT_MAX = 10_000;

export function servicePage(ctx: PageContext, ref: ServiceRef): Page {
  const { backend } = ctx;
  const live = new LiveService(backend, ref);
  const zoneStates = new Map<string, ZoneStatus>();
  const busy = new Set<string>();
  let watchState: WatchState = 'connecting';
  let loaded = false;
  let missing = false;

  const liveBadge = h('span', { class: 'badge off', role: 'status', 'data-watch': 'connecting' }, 'connecting…');
  const body = h('div', null, loading('the service'));
  render(
    ctx.root,
    h(
      'nav',
      { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: href({ page: 'services' }) }, 'Services'),
      ' › ',
    ),
    h(
      'h1',
      { tabindex: -1 },
      h('span', null, ref.service),
      ' ',
      h('span', { class: 'muted small' }, `${ref.namespace} / ${ref.group}`),
      ' ',
      liveBadge,
    ),
    body,
  );

  const draw = (): void => {
    if (!loaded) return;
    const detail = live.detail();
    if (missing && detail.instances.length === 0 && detail.info === null) {
      render(body, h('p', { class: 'empty' }, `There is no service ${serviceName(ref)} (it may appear later).`));
      return;
    }
    render(body, ...content(detail));
  };

  const act = async (key: string, what: () => Promise<void>, done: string): Promise<void> => {
    if (busy.has(key)) return;
    busy.add(key);
    draw();
    try {
      await what();
      notify(done);
      if (watchState !== 'live') poller.kick();
    } catch (err) {
      notify(errorText(err), 'error');
    } finally {
      busy.delete(key);
      draw();
    }
  };

  const actions = {
    toggle: (i: InstanceRow): void => {
      const enabled = !i.enabled;
      void act(
        `toggle:${i.key}`,
        () => backend.updateInstance(i, { enabled }),
        `${addressOf(i)} in ${i.zone} ${enabled ? 'enabled' : 'disabled'}.`,
      );
    },
    weight: async (i: InstanceRow): Promise<void> => {
      let chosen = i.weight;
      const input = h('input', { name: 'weight', type: 'number', min: 0, max: WEIGHT_MAX, step: 1, value: i.weight });
      const ok = await openDialog({
        title: `Weight of ${addressOf(i)} (${i.zone})`,
        name: 'weight',
        body: field('Weight', input, `0 to ${WEIGHT_MAX}; 100 is the default (Nacos weight 1.0). 0 sends it nothing.`),
        submitLabel: 'Set weight',
        onSubmit: (form) => {
          const n = readNumber(form, 'weight', 0, WEIGHT_MAX, false);
          if (typeof n === 'string') return n;
          chosen = n;
          return null;
        },
      });
      if (ok) {
        await act(
          `weight:${i.key}`,
          () => backend.updateInstance(i, { weight: chosen }),
          `Weight of ${addressOf(i)} set to ${chosen}.`,
        );
      }
    },
    deregister: async (i: InstanceRow): Promise<void> => {
      const ok = await confirmDialog(
        `Deregister ${addressOf(i)}?`,
        h(
          'p',
          null,
          `${addressOf(i)} (cluster ${i.cluster}) is removed from ${serviceName(ref)} in ${i.zone}. `,
          i.ephemeral ? 'An instance that keeps sending heartbeats through an SDK will register itself again.' : '',
        ),
        'Deregister',
        true,
      );
      if (ok)
        await act(`deregister:${i.key}`, () => backend.deregister(i), `${addressOf(i)} deregistered from ${i.zone}.`);
    },
    threshold: async (detail: ServiceDetail): Promise<void> => {
      const zones = sortZones(Object.keys(summarize(detail.instances).zones));
      const current = detail.info?.protectThreshold ?? 0;
      let chosen = current;
      const input = h('input', { name: 'threshold', type: 'number', min: 0, max: 1, step: 0.05, value: current });
      const where =
        backend.mode === 'federation'
          ? ` Set in every zone that holds the service: ${zones.join(', ') || 'none'}.`
          : '';
      const ok = await openDialog({
        title: `Protect threshold of ${ref.service}`,
        name: 'threshold',
        body: field(
          'Protect threshold (0 to 1)',
          input,
          `When healthy/total falls to this ratio or below, readers get every instance as healthy, so a mass failure does not pile traffic on the survivors. 0 turns it off.${where}`,
        ),
        submitLabel: 'Save',
        onSubmit: (form) => {
          const n = readNumber(form, 'threshold', 0, 1, false);
          if (typeof n === 'string') return n;
          chosen = n;
          return null;
        },
      });
      if (ok) {
        await act(
          'threshold',
          () => backend.setProtectThreshold(ref, zones, chosen),
          `Protect threshold of ${ref.service} set to ${chosen}.`,
        );
        poller.kick();
      }
    },
  };

  const content = (detail: ServiceDetail): HTMLElement[] => {
    const summary = summarize(detail.instances);
    const zones = sortZones(Object.keys(summary.zones));
    const shares: Record<string, number> = {};
    for (const z of zones) shares[z] = summary.zones[z]?.share ?? 0;
    const settings = h(
      'dl',
      { class: 'facts' },
      h('div', null, h('dt', null, 'Instances'), h('dd', null, `${summary.healthy} healthy of ${summary.total}`)),
      h(
        'div',
        null,
        h('dt', null, 'Protect threshold'),
        h(
          'dd',
          null,
          String(detail.info?.protectThreshold ?? 0),
          ' ',
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn-small',
              'data-focus': 'threshold',
              disabled: busy.has('threshold') || detail.info === null,
              onclick: () => void actions.threshold(detail),
            },
            'Edit…',
          ),
        ),
      ),
      detail.info && Object.keys(detail.info.metadata).length > 0
        ? h('div', null, h('dt', null, 'Metadata'), h('dd', null, metadataList(detail.info.metadata)))
        : null,
    );
    return [
      settings,
      detail.protectThresholdReached
        ? h(
            'p',
            { class: 'notice' },
            'Protect threshold reached: readers of this service get every instance as healthy until more recover.',
          )
        : null,
      backend.mode === 'federation'
        ? h('div', { class: 'card' }, h('h2', null, 'Traffic share'), shareBar(shares))
        : null,
      detail.instances.length === 0 ? h('p', { class: 'empty' }, 'This service has no instances.') : null,
      ...zones.map((z) =>
        zoneSection(
          z,
          detail.instances.filter((i) => i.zone === z),
          summary.zones[z]?.share ?? 0,
        ),
      ),
    ].filter((x): x is HTMLElement => x !== null);
  };

  const zoneSection = (zone: string, instances: readonly InstanceRow[], share: number): HTMLElement => {
    const status = zoneStates.get(zone);
    const healthy = instances.filter((i) => i.healthy).length;
    const serving = instances.filter((i) => i.effectiveWeight > 0).length;
    const headers = ['Instance', 'Cluster', 'Health', 'State', 'Weight', 'Effective', 'Liveness', 'Check', 'Metadata'];
    const table = h(
      'table',
      { class: 'instances' },
      h('caption', { class: 'visually-hidden' }, `Instances in zone ${zone}`),
      h(
        'thead',
        null,
        h('tr', null, ...headers.map((c) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, 'Actions')),
      ),
      h('tbody', null, ...instances.map(instanceRow)),
    );
    return h(
      'section',
      { class: 'card', 'data-zone': zone, 'aria-label': `Instances in zone ${zone}` },
      h(
        'h2',
        null,
        zoneChip(zone),
        ' ',
        status ? zoneStateBadge(status) : null,
        h(
          'span',
          { class: 'muted small' },
          ` ${healthy}/${instances.length} healthy · ${serving} serving${backend.mode === 'federation' ? ` · ${percent(share)} of traffic` : ''}`,
        ),
      ),
      tableRegion(`Instances in zone ${zone}`, table),
    );
  };

  const instanceRow = (i: InstanceRow): HTMLElement => {
    const addr = addressOf(i);
    const btn = (name: string, label: string, onclick: () => void, extra = ''): HTMLButtonElement =>
      h(
        'button',
        {
          type: 'button',
          class: `btn btn-small ${extra}`,
          'data-focus': `${name}:${i.key}`,
          'data-action': name,
          'aria-label': `${label} ${addr} in ${i.zone}`,
          disabled: busy.has(`${name}:${i.key}`),
          onclick,
        },
        label,
      );
    return h(
      'tr',
      { 'data-instance': addr, 'data-zone': i.zone, 'data-enabled': String(i.enabled) },
      h('th', { scope: 'row', class: 'addr' }, addr),
      h('td', null, i.cluster),
      h('td', null, healthBadge(i), i.stale ? h('span', { class: 'badge warn' }, 'stale') : null),
      h('td', null, enabledBadge(i)),
      h('td', { class: 'num' }, String(i.weight)),
      h('td', { class: 'num', 'data-effective': String(i.effectiveWeight) }, String(i.effectiveWeight)),
      h('td', null, liveness(i)),
      h('td', null, checkText(i)),
      h('td', null, metadataList(i.metadata)),
      h(
        'td',
        { class: 'actions' },
        btn('toggle', i.enabled ? 'Disable' : 'Enable', () => actions.toggle(i)),
        btn('weight', 'Weight…', () => void actions.weight(i)),
        btn('deregister', 'Deregister', () => void actions.deregister(i), 'btn-danger-quiet'),
      ),
    );
  };

  const refresh = async (): Promise<void> => {
    try {
      live.load(await backend.service(ref));
      missing = false;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        missing = true;
      } else if (!loaded) {
        render(
          body,
          problem(`The service could not be loaded. ${errorText(err)}`, () => poller.kick()),
        );
        return;
      } else {
        notify(`The service view is not current: ${errorText(err)}`, 'error');
        return;
      }
    }
    loaded = true;
    draw();
  };

  // REST first (quick to show); the watch then takes over. REST again only while the watch is down.
  let first = true;
  const poller = new Poller(async () => {
    if (first || watchState !== 'live') await refresh();
    first = false;
  }, FALLBACK_REFRESH_MS).start();

  if (backend.mode === 'federation') {
    void backend
      .zones()
      .then((zs) => {
        learnZones(zs.map((z) => z.zone));
        for (const z of zs) zoneStates.set(z.zone, z);
        draw();
      })
      .catch(() => {});
  }

  const watch = new WatchClient('ui', [ref], {
    onMessage: (m) => {
      if (m.type === 'zones') {
        for (const z of m.zones) zoneStates.set(z.zone, z);
        draw();
      } else if (m.type === 'error') {
        notify(`Live updates: ${m.code}: ${m.message}`, 'error');
      } else if (live.apply(m)) {
        loaded = true;
        missing = live.gone;
        draw();
      }
    },
    onState: (state, detail) => {
      watchState = state;
      liveBadge.className = state === 'live' ? 'badge ok' : state === 'connecting' ? 'badge off' : 'badge warn';
      liveBadge.dataset['watch'] = state;
      liveBadge.textContent = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : 'reconnecting…';
      liveBadge.title = detail;
    },
  });
  watch.start();

  return {
    dispose: () => {
      poller.stop();
      watch.stop();
    },
  };
}

function addressOf(i: InstanceRow): string {
  return i.ip.includes(':') ? `[${i.ip}]:${i.port}` : `${i.ip}:${i.port}`;
}

function liveness(i: InstanceRow): string {
  if (!i.ephemeral) return 'persistent';
  if (i.lease?.kind === 'session') return 'SDK session';
  return `heartbeat every ${durationMs(i.heartbeat.intervalMs)}`;
}

function checkText(i: InstanceRow): string {
  const c = i.check;
  if (c === null) return '—';
  const every = `every ${durationMs(c.intervalMs)}`;
  return c.type === 'tcp' ? `TCP ${every}` : `HTTP ${c.path} → ${c.expectStatus} ${every}`;
}

function metadataList(metadata: Readonly<Record<string, string>>): HTMLElement | string {
  const entries = Object.entries(metadata).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '—';
  const chip = ([k, v]: [string, string]): HTMLElement => h('li', { class: 'meta' }, `${k}=${v}`);
  if (entries.length <= METADATA_SHOWN) return h('ul', { class: 'metadata' }, ...entries.map(chip));
  return h(
    'div',
    null,
    h('ul', { class: 'metadata' }, ...entries.slice(0, METADATA_SHOWN - 1).map(chip)),
    h(
      'details',
      null,
      h('summary', null, `${entries.length - METADATA_SHOWN + 1} more`),
      h('ul', { class: 'metadata' }, ...entries.slice(METADATA_SHOWN - 1).map(chip)),
    ),
  );
}
