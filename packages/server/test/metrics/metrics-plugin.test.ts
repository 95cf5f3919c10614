import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricsPlugin } from '../../src/metrics/metrics-plugin.js';
import { instanceSpec, startSingleServer, TcpTarget, tcpCheck, waitFor } from '../checks/local-targets.js';
import { type Exposition, parsePromText, sampleValue } from './prom-text.js';

async function scrape(address: string): Promise<Exposition> {
  const res = await fetch(`http://${address}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePromText(await res.text());
}

describe('/metrics', () => {
  it('exposes Raft, registry, lease, watch and check metrics that move as instances register', async (t) => {
    const server = await startSingleServer([metricsPlugin]);
    t.after(() => server.stop());
    const { registry } = server;
    const before = await scrape(server.address);
    const labels = { zone: server.config.zone, node: server.config.nodeId };
    assert.equal(before.types.get('cairn_raft_term'), 'gauge');
    assert.equal(before.types.get('cairn_proposals_total'), 'counter');
    assert.equal(before.types.get('cairn_push_latency_seconds'), 'histogram');
    assert.ok(sampleValue(before, 'cairn_raft_term', labels) >= 1);
    assert.equal(sampleValue(before, 'cairn_raft_role', { role: 'leader' }), 1);
    assert.equal(sampleValue(before, 'cairn_raft_role', { role: 'follower' }), 0);
    assert.ok(sampleValue(before, 'cairn_raft_leader_changes_total') >= 0);
    assert.equal(sampleValue(before, 'cairn_instances'), 0);
    assert.equal(sampleValue(before, 'cairn_health_checks_total', { type: 'tcp' }), 0);
    assert.ok(sampleValue(before, 'process_resident_memory_bytes') > 0, 'process metrics are included');

    const target = await new TcpTarget().start();
    t.after(() => target.stop());
    await registry.execute({ op: 'register', instance: instanceSpec('orders', target.port, tcpCheck()) });
    await registry.execute({ op: 'register', instance: instanceSpec('orders', 1, null, { healthy: false }) });
    await registry.execute({
      op: 'register',
      instance: instanceSpec('carts', 2, null, { ephemeral: true, lease: { kind: 'instance' } }),
    });
    registry.renew(['127.0.0.1#2#DEFAULT#DEFAULT_GROUP@@carts'], []);
    await waitFor(() => server.checks.counters.tcp.run >= 1, 5000, 'a check ran');

    const after = await scrape(server.address);
    assert.equal(sampleValue(after, 'cairn_instances'), 3);
    assert.equal(sampleValue(after, 'cairn_instances_healthy'), 2);
    assert.equal(sampleValue(after, 'cairn_services'), 2);
    assert.equal(sampleValue(after, 'cairn_namespaces'), 1);
    assert.equal(sampleValue(after, 'cairn_leases', { kind: 'instance' }), 1);
    assert.equal(sampleValue(after, 'cairn_leases', { kind: 'session' }), 0);
    assert.ok(sampleValue(after, 'cairn_lease_renewals_total') >= 1);
    assert.ok(sampleValue(after, 'cairn_proposals_total') >= sampleValue(before, 'cairn_proposals_total') + 3);
    assert.ok(sampleValue(after, 'cairn_raft_applied_index') >= sampleValue(before, 'cairn_raft_applied_index') + 3);
    assert.ok(sampleValue(after, 'cairn_raft_commit_index') >= sampleValue(after, 'cairn_raft_applied_index'));
    assert.equal(sampleValue(after, 'cairn_registry_revision'), registry.revision);
    assert.ok(sampleValue(after, 'cairn_push_latency_seconds_count') >= 3, 'one observation per registration');
    assert.equal(sampleValue(after, 'cairn_watchers'), 0);
    assert.equal(sampleValue(after, 'cairn_push_connections', { kind: 'watch' }), 0, 'no push API in this server');
    assert.equal(sampleValue(after, 'cairn_health_check_targets'), 1);
    assert.ok(sampleValue(after, 'cairn_health_checks_total', { type: 'tcp' }) >= 1);
    assert.equal(sampleValue(after, 'cairn_health_check_failures_total', { type: 'tcp' }), 0);
    assert.equal(sampleValue(after, 'cairn_health_check_live_replicas'), 1);

    // A counter mirrored from the registry never goes down between scrapes.
    const again = await scrape(server.address);
    assert.ok(sampleValue(again, 'cairn_proposals_total') >= sampleValue(after, 'cairn_proposals_total'));
  });

  it('keeps a registry per server: two servers in one process scrape independently', async (t) => {
    const a = await startSingleServer([metricsPlugin], ['--zone', 'az1', '--node-id', 'a1']);
    t.after(() => a.stop());
    const b = await startSingleServer([metricsPlugin], ['--zone', 'az2', '--node-id', 'b1']);
    t.after(() => b.stop());
    await a.registry.execute({ op: 'register', instance: instanceSpec('only-in-a', 1, null) });
    const ma = await scrape(a.address);
    const mb = await scrape(b.address);
    assert.equal(sampleValue(ma, 'cairn_instances', { zone: 'az1', node: 'a1' }), 1);
    assert.equal(sampleValue(mb, 'cairn_instances', { zone: 'az2', node: 'b1' }), 0);
  });
});
