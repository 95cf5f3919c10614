import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { Check } from '../registry/model.js';
import { VERSION } from '../version.js';

/** Where a probe goes: always the instance's own address, never anything derived from a response. */
export interface ProbeTarget {
  readonly ip: string;
  readonly port: number;
}

export type ProbeFailure = 'refused' | 'timeout' | 'status' | 'error' | 'aborted';

export type ProbeOutcome =
  | { readonly ok: true; readonly latencyMs: number }
  | { readonly ok: false; readonly reason: ProbeFailure; readonly detail: string; readonly latencyMs: number };

const USER_AGENT = `cairn-health-check/${VERSION}`;

/**
 * Runs one active check against `target`: a TCP connect, or an HTTP GET whose status must be
 * `expectStatus`. Never rejects. The check's timeout covers everything (name lookup, connect, response
 * headers); whatever happens, the socket is destroyed before the promise settles, so a probe never
 * holds a socket past its timeout. HTTP redirects are not followed and no proxy is used.
 */
export function probe(target: ProbeTarget, check: Check, signal?: AbortSignal): Promise<ProbeOutcome> {
  return check.type === 'tcp' ? probeTcp(target, check.timeoutMs, signal) : probeHttp(target, check, signal);
}

type Finish = (outcome: { ok: true } | { ok: false; reason: ProbeFailure; detail: string }) => void;

/** Common timeout/abort plumbing: `start` opens the socket and returns how to destroy it. */
function withDeadline(timeoutMs: number, signal: AbortSignal | undefined, start: (finish: Finish) => () => void) {
  return new Promise<ProbeOutcome>((resolve) => {
    const startedAt = performance.now();
    let done = false;
    let destroy: () => void = () => {};
    const finish: Finish = (o) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      destroy();
      const latencyMs = performance.now() - startedAt;
      resolve(o.ok ? { ok: true, latencyMs } : { ...o, latencyMs });
    };
    const onAbort = () => finish({ ok: false, reason: 'aborted', detail: 'the checker stopped' });
    const timer = setTimeout(
      () => finish({ ok: false, reason: 'timeout', detail: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      destroy = start(finish);
    } catch (err) {
      finish({ ok: false, reason: 'error', detail: err instanceof Error ? err.message : String(err) });
    }
    if (done) destroy();
  });
}

function probeTcp(target: ProbeTarget, timeoutMs: number, signal?: AbortSignal): Promise<ProbeOutcome> {
  return withDeadline(timeoutMs, signal, (finish) => {
    const socket = connect({ host: target.ip, port: target.port, noDelay: true });
    socket.once('connect', () => finish({ ok: true }));
    // `on`, not `once`: a socket may report more than one error and a second must not go unhandled.
    socket.on('error', (err: NodeJS.ErrnoException) => finish(failureOf(err)));
    return () => socket.destroy();
  });
}

function probeHttp(target: ProbeTarget, check: Extract<Check, { type: 'http' }>, signal?: AbortSignal) {
  return withDeadline(check.timeoutMs, signal, (finish) => {
    const req = httpRequest({
      host: target.ip,
      port: target.port,
      method: 'GET',
      path: check.path,
      // A fresh connection per probe: a pooled socket would hide a process that stopped accepting.
      agent: false,
      headers: { 'user-agent': USER_AGENT, accept: '*/*', connection: 'close' },
      maxHeaderSize: 16 * 1024,
    });
    req.once('response', (res) => {
      res.on('error', () => {}); // destroying the request aborts the response: expected, not a failure
      const status = res.statusCode ?? 0;
      // Only the status matters; the body is never read.
      finish(
        status === check.expectStatus
          ? { ok: true }
          : { ok: false, reason: 'status', detail: `status ${status}, expected ${check.expectStatus}` },
      );
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish(failureOf(err)));
    req.end();
    return () => req.destroy();
  });
}

function failureOf(err: NodeJS.ErrnoException): { ok: false; reason: ProbeFailure; detail: string } {
  return {
    ok: false,
    reason: err.code === 'ECONNREFUSED' ? 'refused' : 'error',
    detail: err.code ? `${err.code}: ${err.message}` : err.message,
  };
}
