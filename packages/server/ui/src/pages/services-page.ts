import { type ServiceRow, serviceName } from '../backend.js';
import { loading, problem, shareBar, sortZones, zoneChip } from '../components.js';
import { field } from '../dialog.js';
import { h, render, tableRegion } from '../dom.js';
import { errorText } from '../http.js';
import { type Page, type PageContext, Poller } from '../page.js';
import { href } from '../router.js';

/**
 * Services: search by name, filter by namespace and group; per service its instances per zone,
 * healthy/total, and each zone's share of its traffic. The filters survive leaving the page.
 */

const REFRESH_MS = 5000;
/** Rows drawn at once; the count says how many more match. */
const ROWS_MAX = 500;

const filters = { q: '', namespace: '', group: '' };

export function servicesPage(ctx: PageContext): Page {
  const { backend } = ctx;
  let rows: readonly ServiceRow[] = [];
  let namespaces: readonly string[] = [];
  let loaded = false;

  const search = h('input', {
    type: 'search',
    name: 'q',
    value: filters.q,
    placeholder: 'name contains…',
    autocomplete: 'off',
    'data-focus': 'q',
  });
  const namespaceSelect = h('select', { name: 'namespace', 'data-focus': 'namespace' });
  const groupSelect = h('select', { name: 'group', 'data-focus': 'group' });
  const count = h('p', { class: 'muted count', role: 'status' });
  const results = h('div', null, loading('services'));
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter services' },
    field('Search', search),
    field('Namespace', namespaceSelect),
    field('Group', groupSelect),
  );
  form.addEventListener('submit', (e) => e.preventDefault());
  render(ctx.root, h('h1', { tabindex: -1 }, 'Services'), form, count, results);

  const draw = (): void => {
    fillSelect(namespaceSelect, 'All namespaces', namespaces, filters.namespace);
    const inNamespace = rows.filter((r) => filters.namespace === '' || r.namespace === filters.namespace);
    const groups = [...new Set(inNamespace.map((r) => r.group))].sort();
    fillSelect(groupSelect, 'All groups', groups, filters.group);
    const q = filters.q.trim().toLowerCase();
    const shown = inNamespace.filter(
      (r) => (filters.group === '' || r.group === filters.group) && (q === '' || r.service.toLowerCase().includes(q)),
    );
    count.textContent =
      shown.length > ROWS_MAX
        ? `Showing ${ROWS_MAX} of ${shown.length} matching services (of ${rows.length}); narrow the search.`
        : `${shown.length} of ${rows.length} services`;
    render(
      results,
      shown.length === 0
        ? h('p', { class: 'empty' }, rows.length === 0 ? 'No services are registered yet.' : 'No service matches.')
        : servicesTable(shown.slice(0, ROWS_MAX), backend.mode === 'federation'),
    );
  };

  search.addEventListener('input', () => {
    filters.q = search.value;
    draw();
  });
  namespaceSelect.addEventListener('change', () => {
    filters.namespace = namespaceSelect.value;
    filters.group = '';
    draw();
  });
  groupSelect.addEventListener('change', () => {
    filters.group = groupSelect.value;
    draw();
  });

  const poller = new Poller(async () => {
    try {
      [rows, namespaces] = await Promise.all([backend.services(), backend.namespaces()]);
      loaded = true;
      draw();
    } catch (err) {
      if (!loaded)
        render(
          results,
          problem(`The services could not be loaded. ${errorText(err)}`, () => poller.kick()),
        );
      else count.textContent = `Not current: ${errorText(err)}`;
    }
  }, REFRESH_MS).start();
  return { dispose: () => poller.stop() };
}

function fillSelect(select: HTMLSelectElement, allLabel: string, values: readonly string[], chosen: string): void {
  const wanted = ['', ...values];
  const current = [...select.options].map((o) => o.value);
  if (current.length !== wanted.length || current.some((v, i) => v !== wanted[i])) {
    select.replaceChildren(h('option', { value: '' }, allLabel), ...values.map((v) => h('option', { value: v }, v)));
  }
  select.value = values.includes(chosen) ? chosen : '';
}

function servicesTable(rows: readonly ServiceRow[], federation: boolean): HTMLElement {
  const head = ['Service', 'Namespace / group', 'Instances per zone', 'Healthy', federation ? 'Traffic share' : null];
  const table = h(
    'table',
    { class: 'services' },
    h('caption', { class: 'visually-hidden' }, 'Services'),
    h('thead', null, h('tr', null, ...head.map((c) => (c === null ? null : h('th', { scope: 'col' }, c))))),
    h('tbody', null, ...rows.map((r) => serviceRow(r, federation))),
  );
  return tableRegion('Services', table);
}

function serviceRow(r: ServiceRow, federation: boolean): HTMLElement {
  const zones = sortZones(Object.keys(r.zones));
  const shares: Record<string, number> = {};
  for (const z of zones) shares[z] = r.zones[z]?.share ?? 0;
  const name = serviceName(r);
  return h(
    'tr',
    { 'data-service': name },
    h(
      'th',
      { scope: 'row' },
      h('a', { href: href({ page: 'service', ref: r }), 'data-focus': `svc:${name}` }, r.service),
    ),
    h('td', { class: 'muted' }, `${r.namespace} / ${r.group}`),
    h(
      'td',
      null,
      h(
        'ul',
        { class: 'zone-counts' },
        ...zones.map((z) => {
          const c = r.zones[z]!;
          const serving = federation && c.serving !== c.total ? ` · ${c.serving} serving` : '';
          return h('li', { 'data-zone': z }, zoneChip(z), ` ${c.healthy}/${c.total}${serving}`);
        }),
      ),
    ),
    h('td', { class: r.healthy < r.total ? 'num warn-text' : 'num' }, `${r.healthy}/${r.total}`),
    federation ? h('td', { class: 'share-cell' }, shareBar(shares)) : null,
  );
}
