import { type ClusterPlan, DEV_HOST } from './cluster-plan.js';
import type { DemoStarted } from './demo-launcher.js';

/** The DNS domain the federation serves (its default). */
const DNS_DOMAIN = 'cairn';

/** What a newcomer types first: a persistent registration in the first zone. */
export function curlRegisterCommand(zoneUrl: string): string {
  const body = JSON.stringify({ service: 'hello', ip: '127.0.0.1', port: 3000, ephemeral: false });
  return `curl -s -XPOST ${zoneUrl}/v1/instances -H 'content-type: application/json' -d '${body}'`;
}

export function digCommand(dnsPort: number, service: string): string {
  return `dig @${DEV_HOST} -p ${dnsPort} _${service}._tcp.service.${DNS_DOMAIN} SRV`;
}

/** The table `cairn dev` prints once everything is up. */
export function renderSummary(
  plan: ClusterPlan,
  leaders: ReadonlyMap<string, string>,
  demo: DemoStarted | 'off' | null,
): string {
  const first = plan.zones[0]!;
  const zoneWidth = Math.max(4, ...plan.zones.map((z) => z.zone.length)) + 3;
  const zoneRows = plan.zones.map(
    (z) =>
      `  ${z.zone.padEnd(zoneWidth)}${(leaders.get(z.zone) ?? '?').padEnd(8)}` +
      z.replicas.map((r) => `${r.id} :${r.port}`).join('   '),
  );
  const fed = plan.federation;
  const services = demo && demo !== 'off' ? [...new Set(demo.instances.map((i) => i.service))] : [];
  const digService = services.includes('orders') ? 'orders' : (services[0] ?? 'hello');
  const lines = [
    '',
    `cairn is running on ${DEV_HOST}:`,
    '',
    `  ${'zone'.padEnd(zoneWidth)}${'leader'.padEnd(8)}replicas (port)`,
    ...zoneRows,
    '',
    `  federation   ${fed.url}   DNS ${DEV_HOST}:${fed.dnsPort} (UDP and TCP)`,
    `  admin UI     ${fed.url}/ui/   (all zones, merged)`,
    `               ${first.replicas[0]!.url}/ui/   (zone ${first.zone})`,
    `  API docs     ${first.replicas[0]!.url}/docs`,
    ...demoLines(demo),
    `  data, logs   ${plan.dataDir}`,
    '',
    'Try:',
    `  ${curlRegisterCommand(first.replicas[0]!.url)}`,
    `  ${digCommand(fed.dnsPort, digService)}${digService === 'hello' ? '   (after the curl)' : ''}`,
    '',
    'Ctrl-C stops everything; starting again reuses the data (--reset starts fresh).',
    '',
  ];
  return lines.join('\n');
}

/** `off`: --no-demo; null: it failed to start (said above). */
function demoLines(demo: DemoStarted | 'off' | null): string[] {
  if (demo === 'off') return ['  demo         off (--no-demo)'];
  if (demo === null) return ['  demo         did not start (see above)'];
  const services = [...new Set(demo.instances.map((i) => i.service))];
  const zones = [...new Set(demo.instances.map((i) => i.zone))];
  const what = `${services.join(', ')} in ${zones.join(', ')}`;
  if (demo.via === 'rest') return [`  demo         ${what} (registered over REST: persistent, nothing listens)`];
  const caller = demo.instances.find((i) => i.service === 'orders');
  return [
    `  demo         ${what} (through the SDK; they stop with cairn dev)`,
    ...(caller
      ? [`               curl -s ${caller.url}/call   (orders in ${caller.zone} calls payments, zone-first)`]
      : []),
  ];
}
