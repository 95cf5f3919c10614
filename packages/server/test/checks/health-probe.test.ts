import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probe } from '../../src/checks/health-probe.js';
import { deadPort, HttpTarget, httpCheck, TcpTarget, tcpCheck, waitFor } from './local-targets.js';

const local = (port: number) => ({ ip: '127.0.0.1', port });

describe('health probes against real local servers', () => {
  it('TCP: a listening port passes, a closed one is refused', async (t) => {
    const srv = await new TcpTarget().start();
    t.after(() => srv.stop());
    assert.equal((await probe(local(srv.port), tcpCheck())).ok, true);
    await waitFor(() => srv.accepted === 1, 2000, 'the target saw the connection');
    const out = await probe(local(await deadPort()), tcpCheck());
    assert.equal(out.ok, false);
    assert.equal(!out.ok && out.reason, 'refused');
  });

  it('HTTP: GETs the check path and passes only on the expected status', async (t) => {
    const srv = await new HttpTarget().start();
    t.after(() => srv.stop());
    assert.equal((await probe(local(srv.port), httpCheck({ path: '/ready?deep=1' }))).ok, true);
    assert.deepEqual(srv.paths, ['/ready?deep=1']);
    srv.status = 503;
    const wrong = await probe(local(srv.port), httpCheck());
    assert.equal(wrong.ok, false);
    assert.equal(!wrong.ok && wrong.reason, 'status');
    srv.status = 204;
    assert.equal((await probe(local(srv.port), httpCheck({ expectStatus: 204 }))).ok, true);
    // A redirect is a wrong status, never followed.
    srv.status = 302;
    assert.equal((await probe(local(srv.port), httpCheck())).ok, false);
    assert.equal(srv.paths.length, 4);
    await waitFor(() => srv.open === 0, 2000, 'every probe connection is closed');
  });

  it('HTTP: a server that never answers times out, and the socket is closed', async (t) => {
    const srv = await new HttpTarget().start();
    t.after(() => srv.stop());
    srv.hang = true;
    const out = await probe(local(srv.port), httpCheck({ timeoutMs: 100 }));
    assert.equal(out.ok, false);
    assert.equal(!out.ok && out.reason, 'timeout');
    await waitFor(() => srv.open === 0, 2000, 'the timed-out connection is closed');
  });

  it('an aborted probe ends at once and closes its socket', async (t) => {
    const srv = await new HttpTarget().start();
    t.after(() => srv.stop());
    srv.hang = true;
    const ac = new AbortController();
    const pending = probe(local(srv.port), httpCheck({ timeoutMs: 60_000 }), ac.signal);
    await waitFor(() => srv.open === 1, 2000, 'the probe connected');
    ac.abort();
    const out = await pending;
    assert.equal(!out.ok && out.reason, 'aborted');
    await waitFor(() => srv.open === 0, 2000, 'the aborted connection is closed');
  });
});
