#!/usr/bin/env node
// The demo `cairn dev` runs once per zone (`@cairn/client-sdk/demo`): a few small HTTP services on
// this host, registered through the SDK's session so they live and die with this process.
//
//   node demo-services.js --zone az1 --servers http://127.0.0.1:8848,http://127.0.0.1:8849 \
//     [--federation http://127.0.0.1:8900] [--ip 127.0.0.1] [--instances orders=2,payments=2,inventory=1]
//
// Prints a line per instance, then `ready {json}` once every instance is registered. SIGTERM or
// SIGINT deregisters them all at once (one session close), stops the servers and exits 0.
import { realpathSync } from 'node:fs';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CairnSdkError } from '../errors.js';
import type { Logger } from '../logger.js';
import { connect, type Registry } from '../registry.js';
import { type DemoCall, startDemoServer } from './demo-server.js';

export interface DemoServiceSpec {
  readonly service: string;
  readonly instances: number;
  /** A service this one calls on `GET /call`. */
  readonly calls?: DemoCall;
}

/** What `cairn dev` registers in each zone: orders calls payments, zone-first. */
export const DEMO_SERVICES: readonly DemoServiceSpec[] = [
  { service: 'orders', instances: 2, calls: { service: 'payments', path: '/charge' } },
  { service: 'payments', instances: 2 },
  { service: 'inventory', instances: 1 },
];

export const DEMO_LIMITS = { instancesPerServiceMax: 20, instancesMax: 50 } as const;

export interface DemoOptions {
  /** Defaults as in connect(): CAIRN_ZONE, CAIRN_SERVERS, CAIRN_FEDERATION. */
  readonly zone?: string;
  readonly servers?: readonly string[];
  readonly federation?: readonly string[];
  /** Where the instances listen and what they register (default 127.0.0.1). */
  readonly ip?: string;
  readonly services?: readonly DemoServiceSpec[];
  readonly logger?: Logger;
}

export interface DemoInstance {
  readonly service: string;
  readonly id: string;
  readonly url: string;
  readonly version: string;
}

export interface DemoServices {
  readonly zone: string;
  readonly registry: Registry;
  readonly instances: readonly DemoInstance[];
  /** Deregisters every instance (the session closes), then stops the servers. */
  close(): Promise<void>;
}

/** Starts every demo instance's HTTP server and registers it; on any failure, undoes what it did. */
export async function startDemoServices(opts: DemoOptions = {}): Promise<DemoServices> {
  const services = opts.services ?? DEMO_SERVICES;
  checkSpecs(services);
  const ip = opts.ip ?? '127.0.0.1';
  const registry = await connect({
    ...(opts.zone !== undefined ? { zone: opts.zone } : {}),
    ...(opts.servers !== undefined ? { servers: opts.servers } : {}),
    ...(opts.federation !== undefined ? { federation: opts.federation } : {}),
    ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
    ip,
    cacheDir: null,
    deregisterOnSignals: false,
  });
  const servers: Server[] = [];
  const instances: DemoInstance[] = [];
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await registry.close();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    })();
    return closing;
  };
  try {
    for (const spec of services) {
      for (let i = 1; i <= spec.instances; i++) {
        // Every second instance is a newer version, so label selectors have something to select.
        const version = i % 2 === 0 ? 'v2' : 'v1';
        const { port, server } = await startDemoServer({
          ip,
          identity: { service: spec.service, zone: registry.zone, version },
          registry,
          ...(spec.calls ? { calls: spec.calls } : {}),
        });
        servers.push(server);
        const reg = await registry.register({ service: spec.service, port, metadata: { demo: 'true', version } });
        const host = ip.includes(':') ? `[${ip}]` : ip;
        instances.push({ service: spec.service, id: reg.instance.id, url: `http://${host}:${port}`, version });
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { zone: registry.zone, registry, instances, close };
}

function checkSpecs(services: readonly DemoServiceSpec[]): void {
  let total = 0;
  for (const s of services) {
    if (!Number.isInteger(s.instances) || s.instances < 1 || s.instances > DEMO_LIMITS.instancesPerServiceMax) {
      throw new CairnSdkError(
        'INVALID_OPTIONS',
        `${s.service}: instances must be 1-${DEMO_LIMITS.instancesPerServiceMax}, got ${s.instances}`,
      );
    }
    total += s.instances;
  }
  if (total > DEMO_LIMITS.instancesMax) {
    throw new CairnSdkError('INVALID_OPTIONS', `at most ${DEMO_LIMITS.instancesMax} demo instances, got ${total}`);
  }
}

/** `orders=2,payments=1` -> specs (a service of DEMO_SERVICES keeps what it calls). */
export function parseInstances(text: string): DemoServiceSpec[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((pair) => {
      const m = /^([^=]+)=(\d{1,3})$/.exec(pair);
      if (!m) throw new CairnSdkError('INVALID_OPTIONS', `'${pair}' must be service=count, e.g. orders=2`);
      const service = m[1]!.trim();
      const known = DEMO_SERVICES.find((d) => d.service === service);
      return { service, instances: Number(m[2]), ...(known?.calls ? { calls: known.calls } : {}) };
    });
}

const USAGE =
  'Usage: demo-services --zone <zone> --servers <url,url...> [--federation <url,url...>] [--ip <ip>]\n' +
  '                     [--instances orders=2,payments=2,inventory=1]\n' +
  '(zone, servers and federation default to CAIRN_ZONE, CAIRN_SERVERS and CAIRN_FEDERATION)\n';

/** The program: runs the demo until SIGTERM/SIGINT. */
export async function demoMain(argv: readonly string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        zone: { type: 'string' },
        servers: { type: 'string' },
        federation: { type: 'string' },
        ip: { type: 'string' },
        instances: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`demo-services: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values['help']) {
    process.stdout.write(USAGE);
    return 0;
  }
  const list = (v: string | boolean | undefined) => (typeof v === 'string' ? v.split(',') : undefined);
  const servers = list(values['servers']);
  const federation = list(values['federation']);
  let demo: DemoServices;
  // A signal during start-up stops as soon as the start has settled.
  let stopRequested = false;
  let stop: (() => void) | null = null;
  const onSignal = (): void => {
    if (stopRequested) process.exit(1); // a second signal: do not wait
    stopRequested = true;
    stop?.();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    demo = await startDemoServices({
      ...(typeof values['zone'] === 'string' ? { zone: values['zone'] } : {}),
      ...(servers ? { servers } : {}),
      ...(federation ? { federation } : {}),
      ...(typeof values['ip'] === 'string' ? { ip: values['ip'] } : {}),
      ...(typeof values['instances'] === 'string' ? { services: parseInstances(values['instances']) } : {}),
      logger: stderrLogger,
    });
  } catch (err) {
    process.stderr.write(`demo-services: ${(err as Error).message}\n`);
    return err instanceof CairnSdkError && err.code === 'INVALID_OPTIONS' ? 2 : 1;
  }
  const tag = `cairn demo (${demo.zone})`;
  for (const i of demo.instances) process.stdout.write(`${tag}: ${i.service} ${i.version} at ${i.url}\n`);
  process.stdout.write(`ready ${JSON.stringify({ zone: demo.zone, instances: demo.instances })}\n`);
  await new Promise<void>((resolve) => {
    stop = resolve;
    if (stopRequested) resolve();
  });
  process.stdout.write(`${tag}: deregistering ${demo.instances.length} instances\n`);
  await demo.close();
  process.stdout.write(`${tag}: stopped\n`);
  return 0;
}

/** Warnings and errors of the SDK, one line each, on stderr. */
const stderrLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (obj, msg) => process.stderr.write(`warn: ${msg} ${JSON.stringify(obj)}\n`),
  error: (obj, msg) => process.stderr.write(`error: ${msg} ${JSON.stringify(obj)}\n`),
};

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    // The program is usually started through node_modules' symlink; the module URL is the real path.
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  demoMain(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`demo-services: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
