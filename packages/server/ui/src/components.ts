import type { InstanceRow, ZoneStatus } from './backend.js';
import { ago, clockTime, h, percent } from './dom.js';

/** Small pieces several pages show: zone colours, the share bar, state and health badges. */

const PALETTE_SIZE = 8;
const zoneOrder: string[] = [];

/** Zones keep one colour for the whole session, in the order they were first seen (config order). */
export function learnZones(zones: readonly string[]): void {
  for (const z of zones) if (!zoneOrder.includes(z)) zoneOrder.push(z);
}

export function knownZones(): readonly string[] {
  return zoneOrder;
}

export function zoneColorClass(zone: string): string {
  learnZones([zone]);
  return `zc-${zoneOrder.indexOf(zone) % PALETTE_SIZE}`;
}

/** Orders zone names the way the federation orders zones. */
export function sortZones(zones: readonly string[]): string[] {
  learnZones([...zones].sort());
  return [...zones].sort((a, b) => zoneOrder.indexOf(a) - zoneOrder.indexOf(b));
}

export function zoneChip(zone: string): HTMLElement {
  return h(
    'span',
    { class: 'zone-chip' },
    h('span', { class: `swatch ${zoneColorClass(zone)}`, 'aria-hidden': 'true' }),
    zone,
  );
}

/**
 * A horizontal bar, one segment per zone sized by its share, with the same numbers as text beneath
 * (the bar itself is hidden from screen readers; the text says it all).
 */
export function shareBar(shares: Readonly<Record<string, number>>, options: { pending?: boolean } = {}): HTMLElement {
  const zones = sortZones(Object.keys(shares));
  const bar = h('div', { class: 'share-bar', 'aria-hidden': 'true' });
  for (const z of zones) {
    const share = shares[z] ?? 0;
    if (share <= 0) continue;
    const seg = h('span', { class: `share-seg ${zoneColorClass(z)}`, title: `${z} ${percent(share)}` });
    seg.style.width = `${(share * 100).toFixed(2)}%`;
    bar.append(seg);
  }
  const total = zones.reduce((s, z) => s + (shares[z] ?? 0), 0);
  return h(
    'div',
    { class: options.pending ? 'share pending' : 'share' },
    bar,
    h(
      'span',
      { class: 'share-text' },
      total > 0
        ? zones.map((z) => h('span', { class: 'share-item', 'data-zone': z }, `${z} ${percent(shares[z] ?? 0)}`))
        : 'no traffic',
      options.pending ? h('span', { class: 'tag' }, 'preview') : null,
    ),
  );
}

export function zoneStateBadge(status: ZoneStatus): HTMLElement {
  if (status.state === 'live') {
    return h('span', { class: 'badge ok' }, status.serving ? 'live' : 'live, not serving');
  }
  const since = status.staleSinceMs;
  const when = since === null ? '' : ` since ${clockTime(since)} (${ago(since)})`;
  const what = status.state === 'stale' ? `stale${when}` : `connecting${when}`;
  return h('span', { class: 'badge warn' }, status.serving ? what : `${what}, not serving`);
}

export function healthBadge(i: InstanceRow): HTMLElement {
  return i.healthy ? h('span', { class: 'badge ok' }, 'healthy') : h('span', { class: 'badge bad' }, 'unhealthy');
}

export function enabledBadge(i: InstanceRow): HTMLElement {
  return i.enabled ? h('span', { class: 'badge ok' }, 'enabled') : h('span', { class: 'badge off' }, 'disabled');
}

/** A page's loading or failure state, with a way to try again. */
export function problem(message: string, retry: () => void): HTMLElement {
  return h(
    'div',
    { class: 'problem', role: 'alert' },
    h('p', null, message),
    h('button', { type: 'button', class: 'btn', onclick: retry }, 'Try again'),
  );
}

export function loading(what: string): HTMLElement {
  return h('p', { class: 'muted', role: 'status' }, `Loading ${what}…`);
}
