import type { Overview, ReplicaRow, ZoneOverview } from '../backend.js';
import { learnZones, loading, problem, zoneChip, zoneStateBadge } from '../components.js';
import { h, render, tableRegion } from '../dom.js';
import { errorText } from '../http.js';
import { type Page, type PageContext, Poller } from '../page.js';
import { href } from '../router.js';

/**
 * Overview: totals, then every zone with its state (live / stale since ...), weight and counts,
 * and its Raft replicas (role, term, commit and applied index, lag, up/down).
 */

const REFRESH_MS = 3000;

export function overviewPage(ctx: PageContext): Page {
  const { backend } = ctx;
  const body = h('div', null, loading('the overview'));
  render(ctx.root, h('h1', { tabindex: -1 }, 'Overview'), body);
  let shown = false;
  const poller = new Poller(async () => {
    try {
      const overview = await backend.overview();
      learnZones(overview.zones.map((z) => z.status.zone));
      render(body, ...content(overview));
      shown = true;
    } catch (err) {
      if (!shown)
        render(
          body,
          problem(`The overview could not be loaded. ${errorText(err)}`, () => poller.kick()),
        );
      else body.querySelector('.refresh-error')?.replaceChildren(`Not current: ${errorText(err)}`);
    }
  }, REFRESH_MS).start();
  return { dispose: () => poller.stop() };
}

function content(o: Overview): HTMLElement[] {
  const zones = o.zones.map((z) => z.status);
  const live = zones.filter((z) => z.state === 'live').length;
  const instances = zones.reduce((n, z) => n + z.instances, 0);
  const healthy = zones.reduce((n, z) => n + z.healthyInstances, 0);
  const stats = h(
    'dl',
    { class: 'stats' },
    stat('Zones', o.mode === 'federation' ? `${live} live of ${zones.length}` : `${zones[0]?.zone ?? '?'}`),
    stat('Services', String(o.services), href({ page: 'services' })),
    stat('Instances', `${healthy} healthy of ${instances}`),
    o.mode === 'federation' ? stat('Merge mode', o.mergeMode) : null,
    stat(o.mode === 'federation' ? 'Federation revision' : 'Registry revision', String(o.revision)),
  );
  return [
    stats,
    h('p', { class: 'refresh-error muted', role: 'status' }),
    h('div', { class: 'zones' }, ...o.zones.map((z) => zoneCard(z, o.mode === 'federation'))),
  ];
}

function stat(label: string, value: string, link?: string): HTMLElement {
  return h('div', { class: 'stat' }, h('dt', null, label), h('dd', null, link ? h('a', { href: link }, value) : value));
}

function zoneCard(z: ZoneOverview, federation: boolean): HTMLElement {
  const s = z.status;
  return h(
    'section',
    { class: 'card zone-card', 'aria-label': `zone ${s.zone}`, 'data-zone': s.zone },
    h('h2', null, zoneChip(s.zone), ' ', zoneStateBadge(s)),
    h(
      'dl',
      { class: 'facts' },
      fact('Weight', s.weight === 0 ? '0 (drained)' : String(s.weight)),
      fact('Services', String(s.services)),
      fact('Instances', `${s.healthyInstances} healthy of ${s.instances}`),
      fact('Revision', String(s.revision)),
      federation ? fact('Watching', s.replica ?? 'no replica') : null,
    ),
    z.replicaError ? h('p', { class: 'problem-inline', role: 'alert' }, `Replicas unknown: ${z.replicaError}`) : null,
    replicaTable(s.zone, z.replicas),
  );
}

function fact(label: string, value: string): HTMLElement {
  return h('div', null, h('dt', null, label), h('dd', null, value));
}

function replicaTable(zone: string, replicas: readonly ReplicaRow[]): HTMLElement {
  const dash = (v: number | string | null): string => (v === null ? '—' : String(v));
  const rows = replicas.map((r) =>
    h(
      'tr',
      { 'data-replica': r.id },
      h('th', { scope: 'row' }, r.id, r.self ? h('span', { class: 'tag' }, 'this replica') : null),
      h('td', { class: 'addr' }, r.address || '—'),
      h(
        'td',
        null,
        r.up === null
          ? h('span', { class: 'badge off' }, 'unknown')
          : h('span', { class: r.up ? 'badge ok' : 'badge bad' }, r.up ? 'up' : 'down'),
      ),
      h('td', null, r.role === null ? '—' : h('span', { class: r.role === 'leader' ? 'role leader' : 'role' }, r.role)),
      h('td', { class: 'num' }, dash(r.term)),
      h('td', { class: 'num' }, dash(r.commit)),
      h('td', { class: 'num' }, dash(r.applied)),
      h('td', { class: 'num' }, dash(r.lag)),
    ),
  );
  const table = h(
    'table',
    null,
    h('caption', { class: 'visually-hidden' }, `Replicas of zone ${zone}`),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ...['Replica', 'Address', 'Status', 'Role', 'Term', 'Commit', 'Applied', 'Lag'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h('tbody', null, ...rows),
  );
  return tableRegion(`Replicas of zone ${zone}`, table);
}
