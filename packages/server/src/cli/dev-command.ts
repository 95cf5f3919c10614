import { fileURLToPath } from 'node:url';
import { type ClusterPlan, DEV_HOST, planCluster, portsOf } from './dev/cluster-plan.js';
import {
  currentLeaders,
  type WaitOptions,
  waitForFederationLive,
  waitForLeader,
  waitForReplicasUp,
  waitForServicesInView,
} from './dev/cluster-readiness.js';
import {
  type DemoStarted,
  expectedCounts,
  registerDemoOverRest,
  resolveSdkDemo,
  startSdkDemos,
} from './dev/demo-launcher.js';
import { prepareDataDir } from './dev/dev-data-dir.js';
import { type DevOptions, devHelp, parseDevOptions } from './dev/dev-options.js';
import { type DevChild, DevProcesses, type Tier } from './dev/dev-processes.js';
import { renderSummary } from './dev/dev-summary.js';
import { busyPorts } from './dev/port-check.js';
import { watchStopSignals } from './dev/stop-signals.js';

export { devHelp };

/**
 * `cairn dev` (`npm start`): a local cairn in one command. N zones of M real `cairn server`
 * processes and one `cairn federation` process on 127.0.0.1, level data under one directory
 * (reused by the next start; `--reset` starts fresh), and the SDK's demo services in every zone.
 * Shows each stage as it completes, then a summary; Ctrl-C (or SIGTERM) stops the demo, the
 * federation and the replicas in that order; a second Ctrl-C kills them at once.
 */

const CLI = fileURLToPath(new URL('./main.js', import.meta.url));

const TIMEOUTS_MS = { replicasUp: 60_000, leader: 60_000, federation: 30_000, demo: 30_000 } as const;

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

export async function devCommand(argv: readonly string[]): Promise<number> {
  let options: DevOptions | null;
  let plan: ClusterPlan;
  try {
    options = parseDevOptions(argv);
    if (options === null) {
      process.stdout.write(devHelp());
      return 0;
    }
    plan = planCluster(options);
  } catch (err) {
    process.stderr.write(`cairn dev: ${(err as Error).message}\nRun \`cairn dev --help\` for the options.\n`);
    return 2;
  }
  const busy = await busyPorts(portsOf(plan));
  if (busy.length > 0) {
    process.stderr.write(
      `cairn dev: ports already in use on ${DEV_HOST}: ${busy.join(', ')}.\n` +
        'Is another cairn dev running? Stop it, or pick other ports with --base-port (or --federation-port, --dns-port).\n',
    );
    return 1;
  }
  let secret: string;
  try {
    secret = prepareDataDir(plan, options.reset);
  } catch (err) {
    process.stderr.write(`cairn dev: ${(err as Error).message}\n`);
    return 1;
  }

  const processes = new DevProcesses((child, how) => {
    process.stderr.write(`cairn dev: ${child.name} exited (${how}); see ${child.logFile}\n`);
  });
  const stop = watchStopSignals(() => {
    say('cairn dev: asked again: killing every process now');
    void processes.killAll();
  });

  let code = 0;
  try {
    const demo = await start(plan, options, secret, processes, stop.signal);
    process.stdout.write(renderSummary(plan, await currentLeaders(plan.zones), options.demo ? demo : 'off'));
    await stop.requested;
  } catch (err) {
    if (!stop.signal.aborted) {
      process.stderr.write(`cairn dev: ${(err as Error).message}\n`);
      code = 1;
    }
  }
  say('\ncairn dev: stopping ...');
  await processes.stopAll((tier, count) => say(`  stopping ${count === 1 ? 'the' : count} ${TIER_NAMES[tier]}`));
  stop.dispose();
  say('cairn dev: stopped');
  return code;
}

const TIER_NAMES: Readonly<Record<Tier, string>> = {
  demo: 'demo processes',
  federation: 'federation',
  replica: 'replicas',
};

/** Starts every process and waits for each stage; resolves with the demo started (null: none). */
async function start(
  plan: ClusterPlan,
  options: DevOptions,
  secret: string,
  processes: DevProcesses,
  signal: AbortSignal,
): Promise<DemoStarted | null> {
  const shape = `${plan.zones.length} zones x ${options.replicas} replicas`;
  say(`cairn dev: ${shape}, a federation${options.demo ? ' and demo services' : ''} on ${DEV_HOST}`);
  say(`  data and logs in ${plan.dataDir}`);

  const replicaChildren = new Map<string, DevChild>();
  for (const z of plan.zones) {
    const peers = z.replicas.map((r) => `${r.id}=${DEV_HOST}:${r.port}`).join(',');
    for (const r of z.replicas) {
      const args = [CLI, 'server', '--zone', z.zone, '--node-id', r.id, '--listen', `${DEV_HOST}:${r.port}`];
      args.push('--data-dir', r.dataDir, '--log-level', 'warn');
      if (z.replicas.length > 1) args.push('--peers', peers);
      const child = processes.start({
        name: `${z.zone}/${r.id}`,
        tier: 'replica',
        args,
        logFile: r.logFile,
        env: { ...process.env, CAIRN_CLUSTER_SECRET: secret },
      });
      replicaChildren.set(`${z.zone}/${r.id}`, child);
    }
  }
  const replicaGone = (names: readonly string[]) => (): string | null => {
    const dead = names.map((n) => replicaChildren.get(n)!).find((c) => !c.running);
    return dead ? `${dead.name} exited; see ${dead.logFile}` : null;
  };
  const allNames = [...replicaChildren.keys()];
  const wait = (timeoutMs: number, gone: () => string | null): WaitOptions => ({ timeoutMs, signal, gone });

  await waitForReplicasUp(
    plan.zones.flatMap((z) => z.replicas),
    (r) => say(`  ${`${r.zone}/${r.id}`.padEnd(8)} up on ${DEV_HOST}:${r.port}`),
    wait(TIMEOUTS_MS.replicasUp, replicaGone(allNames)),
  );
  await Promise.all(
    plan.zones.map(async (z) => {
      const names = z.replicas.map((r) => `${z.zone}/${r.id}`);
      const leader = await waitForLeader(z, wait(TIMEOUTS_MS.leader, replicaGone(names)));
      say(`  ${z.zone.padEnd(8)} leader elected: ${leader}`);
    }),
  );

  const fed = plan.federation;
  const federation = processes.start({
    name: 'the federation',
    tier: 'federation',
    args: [
      CLI,
      'federation',
      ...['--listen', `${DEV_HOST}:${fed.httpPort}`, '--dns', `${DEV_HOST}:${fed.dnsPort}`, '--log-level', 'warn'],
      ...plan.zones.flatMap((z) => ['--zone', `${z.zone}=${z.replicas.map((r) => r.url).join(',')}`]),
    ],
    logFile: fed.logFile,
  });
  const federationGone = (): string | null =>
    federation.running ? null : `the federation exited; see ${federation.logFile}`;
  const zoneNames = plan.zones.map((z) => z.zone);
  await waitForFederationLive(fed.url, zoneNames, wait(TIMEOUTS_MS.federation, federationGone));
  say(
    `  federation live with ${zoneNames.join(', ')} (HTTP ${DEV_HOST}:${fed.httpPort}, DNS ${DEV_HOST}:${fed.dnsPort})`,
  );

  if (!options.demo) return null;
  let demo: DemoStarted;
  const program = resolveSdkDemo();
  try {
    if (program) {
      demo = await startSdkDemos(plan, processes, program, { timeoutMs: TIMEOUTS_MS.demo, signal });
    } else {
      say('  the SDK (@cairn/client-sdk) is not installed next to the server: registering the demo over REST');
      demo = await registerDemoOverRest(plan, signal);
    }
    await waitForServicesInView(fed.url, expectedCounts(demo.instances), wait(TIMEOUTS_MS.demo, federationGone));
  } catch (err) {
    if (signal.aborted) throw err;
    // The cluster is usable without its demo: say why and go on.
    say(`  the demo services did not start: ${(err as Error).message}`);
    return null;
  }
  const services = [...new Set(demo.instances.map((i) => i.service))].join(', ');
  const how = demo.via === 'sdk' ? 'through the SDK' : 'over REST';
  say(`  demo registered ${how}: ${services} (${demo.instances.length} instances in ${zoneNames.join(', ')})`);
  return demo;
}
