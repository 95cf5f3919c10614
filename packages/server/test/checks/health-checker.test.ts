import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { CHECK_VIEW_PATH, HealthChecker } from '../../src/checks/health-checker.js';
import type { InstanceKey } from '../../src/registry/model.js';
import { CLUSTER_AUTH_HEADER, type ZoneRegistry } from '../../src/registry/zone-registry.js';
import {
  deadPort,
  HttpTarget,
  httpCheck,
  instanceSpec,
  startSingleServer,
  TcpTarget,
  tcpCheck,
  waitFor,
} from './local-targets.js';

function healthOf(registry: ZoneRegistry, key: InstanceKey): boolean | undefined {
  return registry.state.instance(key)?.healthy;
}

describe('active health checks on a single-replica zone', () => {
  it('TCP: a dead port turns unhealthy after `fall` failures, a revived one healthy after `rise` successes', async (t) => {
    const server = await startSingleServer();
    t.after(() => server.stop());
    const target = await new TcpTarget().start();
    t.after(() => target.stop());
    const { registry, checks } = server;
    const spec = instanceSpec('orders', target.port, tcpCheck({ fall: 3, rise: 2 }));
    await registry.execute({ op: 'register', instance: spec });
    assert.deepEqual(checks.assignedIds(), ['127.0.0.1#' + target.port + '#DEFAULT#DEFAULT_GROUP@@orders']);

    // Record the checker's counters at the moment each transition is applied.
    const seen: { healthy: boolean; run: number; failed: number }[] = [];
    registry.onChange((_rev, changes) => {
      for (const c of changes)
        if (c.kind === 'instance' && c.instance.port === target.port)
          seen.push({ healthy: c.instance.healthy, run: checks.counters.tcp.run, failed: checks.counters.tcp.failed });
    });

    await waitFor(() => checks.counters.tcp.run >= 3, 5000, 'three checks ran');
    assert.equal(checks.counters.tcp.failed, 0);
    assert.equal(healthOf(registry, spec), true);

    await target.stop();
    await waitFor(() => healthOf(registry, spec) === false, 10_000, 'the instance is unhealthy');
    assert.equal(seen.length, 1);
    assert.ok(seen[0]!.failed >= 3, `unhealthy after ${seen[0]!.failed} failures, fall is 3`);

    const failedBefore = checks.counters.tcp.failed;
    const runBefore = checks.counters.tcp.run;
    await target.start(); // same port
    await waitFor(() => healthOf(registry, spec) === true, 10_000, 'the instance is healthy again');
    assert.equal(seen.length, 2);
    const okSince = seen[1]!.run - runBefore - (seen[1]!.failed - failedBefore);
    assert.ok(okSince >= 2, `healthy after ${okSince} good checks, rise is 2`);
    assert.ok(checks.counters.transitionsCommitted >= 2);
  });

  it('HTTP: a wrong status counts as a failure; the expected one as a success', async (t) => {
    const server = await startSingleServer();
    t.after(() => server.stop());
    const target = await new HttpTarget().start();
    t.after(() => target.stop());
    const { registry, checks } = server;
    target.status = 500;
    const spec = instanceSpec('billing', target.port, httpCheck({ path: '/health', fall: 2, rise: 2 }));
    await registry.execute({ op: 'register', instance: spec });
    await waitFor(() => healthOf(registry, spec) === false, 10_000, 'the instance is unhealthy');
    assert.ok(checks.counters.http.failed >= 2);
    assert.ok(target.paths.every((p) => p === '/health'));
    target.status = 200;
    await waitFor(() => healthOf(registry, spec) === true, 10_000, 'the instance is healthy again');
  });

  it('a check that times out is a failure; an instance registered unhealthy turns healthy once it answers', async (t) => {
    const server = await startSingleServer();
    t.after(() => server.stop());
    const target = await new HttpTarget().start();
    t.after(() => target.stop());
    const { registry } = server;
    target.hang = true;
    const spec = instanceSpec('slow', target.port, httpCheck({ timeoutMs: 100, fall: 2 }));
    await registry.execute({ op: 'register', instance: spec });
    await waitFor(() => healthOf(registry, spec) === false, 10_000, 'the hanging instance is unhealthy');
    await waitFor(() => target.open === 0, 5000, 'no probe socket outlives its timeout');
    target.hang = false;
    const fresh = instanceSpec('fresh', target.port, httpCheck(), { healthy: false });
    await registry.execute({ op: 'register', instance: fresh });
    await waitFor(
      () => healthOf(registry, spec) === true && healthOf(registry, fresh) === true,
      10_000,
      'both are healthy',
    );
  });

  it('drops an instance when it is deregistered, and leaves heartbeat-leased instances to their leases', async (t) => {
    const server = await startSingleServer();
    t.after(() => server.stop());
    const { registry, checks } = server;
    const port = await deadPort();
    const leased = instanceSpec('leased', port, tcpCheck(), { ephemeral: true, lease: { kind: 'instance' } });
    const checked = instanceSpec('checked', port, tcpCheck());
    await registry.execute({ op: 'register', instance: leased });
    await registry.execute({ op: 'register', instance: checked });
    assert.deepEqual(checks.assignedIds(), [`127.0.0.1#${port}#DEFAULT#DEFAULT_GROUP@@checked`]);
    await registry.execute({ op: 'deregister', key: checked });
    assert.deepEqual(checks.assignedIds(), []);
  });

  it('bounds the probes in flight, and stop() ends them at once', async (t) => {
    const server = await startSingleServer();
    t.after(() => server.stop());
    const target = await new HttpTarget().start();
    t.after(() => target.stop());
    target.hang = true;
    const { registry } = server;
    await server.checks.stop(); // replaced by one with a small bound
    const checker = new HealthChecker({
      registry,
      logger: pino({ level: 'silent' }),
      clusterSecret: server.config.clusterSecret,
      electionTimeoutMs: 1000,
      concurrencyMax: 3,
      firstProbeSpreadMs: 1,
    });
    checker.start();
    let stopped = false;
    t.after(() => (stopped ? undefined : checker.stop()));
    for (let i = 0; i < 12; i++) {
      await registry.execute({
        op: 'register',
        instance: instanceSpec(`svc-${i}`, target.port, httpCheck({ timeoutMs: 60_000, intervalMs: 200 })),
      });
    }
    assert.equal(checker.stats.targets, 12);
    await waitFor(() => target.open === 3, 5000, 'three probes are in flight');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(target.openMax, 3, 'never more than concurrencyMax sockets');
    assert.equal(checker.stats.inFlight, 3);
    await checker.stop();
    stopped = true;
    assert.equal(checker.stats.inFlight, 0);
    await waitFor(() => target.open === 0, 2000, 'every probe socket is closed');
  });

  it('the leader serves its live-replica view to replicas that know the cluster secret', async (t) => {
    const server = await startSingleServer();
    t.after(() => server.stop());
    const url = `http://${server.address}${CHECK_VIEW_PATH}`;
    const refused = await fetch(url, { headers: { [CLUSTER_AUTH_HEADER]: 'not-the-secret' } });
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { code: string }).code, 'UNAUTHENTICATED');
    const res = await fetch(url, { headers: { [CLUSTER_AUTH_HEADER]: server.config.clusterSecret } });
    assert.equal(res.status, 200);
    const view = (await res.json()) as { leader: string; term: number; live: string[] };
    assert.equal(view.leader, server.config.nodeId);
    assert.deepEqual(view.live, [server.config.nodeId]);
    await waitFor(() => server.checks.stats.viewSource === 'leader', 5000, 'the checker uses its own view as leader');
  });
});
