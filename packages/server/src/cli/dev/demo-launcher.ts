import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterPlan } from './cluster-plan.js';
import type { DevProcesses } from './dev-processes.js';

/**
 * The demo services of `cairn dev`. Normally the SDK's demo program (`@cairn/client-sdk/demo`), one
 * process per zone: real HTTP servers registered through the SDK's session, living and dying with
 * that process. The SDK depends on this package, so it is found at run time, never imported; when
 * it is not installed (a server-only install), a few persistent instances are registered over REST
 * instead, with nothing listening behind them.
 */

export const SDK_DEMO_SPECIFIER = '@cairn/client-sdk/demo';

export interface DemoInstance {
  readonly service: string;
  readonly zone: string;
  readonly url: string;
}

export interface DemoStarted {
  readonly via: 'sdk' | 'rest';
  readonly instances: readonly DemoInstance[];
}

/** The demo program's path, or null when the SDK (or its compiled demo) is not installed. */
export function resolveSdkDemo(resolve: (specifier: string) => string = (s) => import.meta.resolve(s)): string | null {
  try {
    const url = resolve(SDK_DEMO_SPECIFIER);
    if (!url.startsWith('file:')) return null;
    const path = fileURLToPath(url);
    return existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

/** Instances per zone of each demo service, e.g. orders -> {az1: 2, az2: 2}. */
export function expectedCounts(instances: readonly DemoInstance[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const i of instances) {
    const zones = out.get(i.service) ?? new Map<string, number>();
    zones.set(i.zone, (zones.get(i.zone) ?? 0) + 1);
    out.set(i.service, zones);
  }
  return out;
}

interface ReadyLine {
  readonly zone: string;
  readonly instances: readonly { service: string; url: string }[];
}

/** Starts the SDK demo program in every zone; resolves once each has printed `ready`. */
export async function startSdkDemos(
  plan: ClusterPlan,
  processes: DevProcesses,
  programPath: string,
  o: { readonly timeoutMs: number; readonly signal: AbortSignal },
): Promise<DemoStarted> {
  const perZone = await Promise.all(
    plan.zones.map(
      (z) =>
        new Promise<DemoInstance[]>((resolve, reject) => {
          const logFile = join(plan.dataDir, `demo-${z.zone}.log`);
          const fail = (why: string) => reject(new Error(`the demo services of ${z.zone} ${why}; see ${logFile}`));
          const timer = setTimeout(() => fail(`did not register within ${o.timeoutMs / 1000} s`), o.timeoutMs);
          const settle = () => clearTimeout(timer);
          o.signal.addEventListener(
            'abort',
            () => {
              settle();
              reject(o.signal.reason);
            },
            { once: true },
          );
          const child = processes.start({
            name: `demo ${z.zone}`,
            tier: 'demo',
            args: [
              programPath,
              ...['--zone', z.zone, '--servers', z.replicas.map((r) => r.url).join(',')],
              ...['--federation', plan.federation.url],
            ],
            logFile,
            onLine: (line) => {
              if (!line.startsWith('ready ')) return;
              settle();
              try {
                const ready = JSON.parse(line.slice('ready '.length)) as ReadyLine;
                resolve(ready.instances.map((i) => ({ service: i.service, zone: z.zone, url: i.url })));
              } catch {
                fail('printed an unreadable ready line');
              }
            },
          });
          void child.exited.then(() => {
            settle();
            fail('exited before registering');
          });
        }),
    ),
  );
  return { via: 'sdk', instances: perZone.flat() };
}

/** What the REST fallback registers in each zone. */
const REST_DEMO = [
  { service: 'orders', count: 2, port: 8080 },
  { service: 'payments', count: 2, port: 9090 },
  { service: 'inventory', count: 1, port: 7070 },
] as const;

/** The fallback: persistent instances on made-up addresses, registered with POST /v1/instances. */
export async function registerDemoOverRest(plan: ClusterPlan, signal: AbortSignal): Promise<DemoStarted> {
  const instances: DemoInstance[] = [];
  for (const [zi, z] of plan.zones.entries()) {
    const url = z.replicas[0]!.url;
    for (const d of REST_DEMO) {
      for (let i = 1; i <= d.count; i++) {
        const ip = `10.${zi + 1}.0.${i}`;
        const res = await fetch(`${url}/v1/instances`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            service: d.service,
            ip,
            port: d.port,
            ephemeral: false,
            metadata: { demo: 'true', version: i % 2 === 0 ? 'v2' : 'v1' },
          }),
          signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]),
        });
        if (!res.ok) throw new Error(`registering demo ${d.service} in ${z.zone} failed: ${await res.text()}`);
        instances.push({ service: d.service, zone: z.zone, url: `http://${ip}:${d.port}` });
      }
    }
  }
  return { via: 'rest', instances };
}
