import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LiveReplicas, localView, type ReplicaStatus } from '../../src/checks/live-replicas.js';

function status(over: Partial<ReplicaStatus> & Pick<ReplicaStatus, 'id'>): ReplicaStatus {
  return {
    role: 'follower',
    term: 3,
    leader: 'n1',
    conf: { voters: ['n1', 'n2', 'n3'], learners: [] },
    progress: {},
    transport: {
      framesSent: 0,
      framesReceived: 0,
      framesDropped: 0,
      messagesSent: 0,
      messagesReceived: 0,
      messagesDropped: 0,
      upgradesRefused: 0,
      linksOpened: 0,
      peers: {},
    },
    ...over,
  };
}

const active = (a: boolean) => ({ match: 1, next: 2, state: 'replicate' as const, active: a });
const opts = { liveWindowMs: 1000, viewStaleMs: 1500 };

describe('live replicas', () => {
  it('the leader counts itself at once and followers once it has heard from them', () => {
    const lr = new LiveReplicas(opts);
    const s0 = status({
      id: 'n1',
      role: 'leader',
      progress: { n1: active(true), n2: active(false), n3: active(false) },
    });
    lr.observe(s0, 0);
    assert.deepEqual(lr.effective(s0, 0), { live: ['n1'], source: 'leader' });
    const s1 = status({ id: 'n1', role: 'leader', progress: { n1: active(true), n2: active(true), n3: active(true) } });
    lr.observe(s1, 10);
    assert.deepEqual(lr.leaderView(s1, 10), { leader: 'n1', term: 3, live: ['n1', 'n2', 'n3'] });
  });

  it('the leader keeps a follower through Raft clearing recentActive, and drops it after the live window', () => {
    const lr = new LiveReplicas(opts);
    const all = status({ id: 'n1', role: 'leader', progress: { n2: active(true), n3: active(true) } });
    lr.observe(all, 0);
    const n3Silent = status({ id: 'n1', role: 'leader', progress: { n2: active(true), n3: active(false) } });
    lr.observe(n3Silent, 900);
    assert.deepEqual(lr.effective(n3Silent, 900).live, ['n1', 'n2', 'n3'], 'within the window');
    lr.observe(n3Silent, 1001);
    assert.deepEqual(lr.effective(n3Silent, 1001).live, ['n1', 'n2']);
  });

  it('a new term forgets what the previous leadership heard', () => {
    const lr = new LiveReplicas(opts);
    lr.observe(status({ id: 'n1', role: 'leader', progress: { n2: active(true) } }), 0);
    const next = status({ id: 'n1', role: 'leader', term: 4, progress: { n2: active(false) } });
    lr.observe(next, 10);
    assert.deepEqual(lr.effective(next, 10).live, ['n1']);
  });

  it('a follower uses the fetched view of its leader while fresh, else its own links', () => {
    const lr = new LiveReplicas(opts);
    const s = status({
      id: 'n2',
      transport: { ...status({ id: 'n2' }).transport, peers: { n1: link(true), n3: link(false) } },
    });
    assert.deepEqual(lr.effective(s, 0), { live: ['n1', 'n2'], source: 'local' });
    lr.acceptFetched({ leader: 'n1', term: 3, live: ['n1', 'n2', 'n3', 'n9'] }, 0);
    assert.deepEqual(lr.effective(s, 100), { live: ['n1', 'n2', 'n3'], source: 'fetched' }, 'non-voters ignored');
    assert.equal(lr.effective(s, 1600).source, 'local', 'stale');
    assert.equal(lr.effective({ ...s, term: 4 }, 100).source, 'local', 'another term');
    assert.equal(lr.effective({ ...s, leader: 'n3' }, 100).source, 'local', 'another leader');
  });

  it('the local view counts inbound links and leaves out a non-voter self', () => {
    const s = status({ id: 'n4', transport: { ...status({ id: 'n4' }).transport, peers: { n1: link(false, true) } } });
    assert.deepEqual(localView(s), ['n1']);
  });
});

function link(connected: boolean, inbound = false) {
  return { address: '127.0.0.1:1', connected, queued: 0, inbound };
}
