import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { CairnSdkError } from '../errors.js';
import type { InstanceState } from '../picking/instance-state.js';
import type { Labels } from '../picking/label-selector.js';
import type { ZonePicker } from '../picking/zone-picker.js';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
type Headers = Record<string, string | string[] | undefined>;

/** What a request needs from the dispatcher that started it. */
export interface RequestContext {
  readonly picker: ZonePicker;
  readonly labels: Labels | undefined;
  readonly service: string;
  /** Retry idempotent requests once on another instance after a connection failure. */
  readonly retry: boolean;
  /** The pool of an instance, keeping the request's scheme. */
  poolFor(instance: InstanceState, protocol: string): Dispatcher;
  readonly stats: { retries: number; connectionFailures: number; noInstance: number };
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Errors where the request never reached a working server: the instance is at fault, not the call. */
const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  if (typeof e?.code === 'string' && e.code !== 'UND_ERR_SOCKET') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return typeof e?.code === 'string' ? e.code : undefined;
}

export function isConnectionError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && CONNECTION_ERRORS.has(code);
}

/** A body that can be sent again as it is (no stream consumed by the first attempt). */
function replayable(body: Dispatcher.DispatchOptions['body']): boolean {
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
}

/**
 * One call to a service: picks an instance, sends the request through that instance's pool, and
 * stands between the pool and the caller's handler. A connection failure before any response
 * retries an idempotent request with a replayable body once, on another instance; every outcome
 * feeds the picker (calls in flight, outlier ejection: connection failures and 5xx count against
 * the instance, other answers for it, a caller's abort neither way).
 */
export class ServiceRequest implements Handler {
  private readonly proxy: ProxyController;
  private state: InstanceState | null = null;
  private attempts = 0;
  private started = false;
  private responded = false;
  private status = 0;
  private done = false;

  constructor(
    private readonly ctx: RequestContext,
    private readonly opts: Dispatcher.DispatchOptions,
    private readonly protocol: string,
    private readonly handler: Handler,
  ) {
    this.proxy = new ProxyController();
  }

  /** Sends the first attempt. */
  start(): void {
    this.attempt(undefined);
  }

  private attempt(excludeId: string | undefined): void {
    const { picker, labels } = this.ctx;
    const s = picker.pickState(labels, excludeId);
    if (s === undefined) {
      this.ctx.stats.noInstance++;
      const e = picker.explain(labels);
      this.fail(
        new CairnSdkError(
          'NO_INSTANCE',
          excludeId === undefined
            ? `no instance of ${this.ctx.service} to call: ${e.reason}`
            : `no other instance of ${this.ctx.service} to retry on`,
        ),
      );
      return;
    }
    this.state = s;
    this.attempts++;
    picker.begin(s);
    const pool = this.ctx.poolFor(s, this.protocol);
    const origin = `${this.protocol}//${hostOf(s.instance.ip)}:${s.instance.port}`;
    pool.dispatch({ ...this.opts, origin }, this);
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.proxy.follow(controller);
    if (this.proxy.aborted) {
      controller.abort(this.proxy.reason ?? new Error('aborted'));
      return;
    }
    if (this.started) return;
    this.started = true;
    this.handler.onRequestStart?.(this.proxy, context);
  }

  onRequestUpgrade(_c: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    this.responded = true;
    this.finish(true);
    this.handler.onRequestUpgrade?.(this.proxy, statusCode, headers, socket);
  }

  onResponseStart(_c: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    if (statusCode >= 200) {
      this.responded = true;
      this.status = statusCode;
    }
    this.handler.onResponseStart?.(this.proxy, statusCode, headers, statusMessage);
  }

  onResponseData(_c: Controller, chunk: Buffer): void {
    this.handler.onResponseData?.(this.proxy, chunk);
  }

  onResponseEnd(_c: Controller, trailers: Headers): void {
    this.finish(this.status < 500);
    this.handler.onResponseEnd?.(this.proxy, trailers);
  }

  onResponseError(_c: Controller, err: Error): void {
    const connection = !this.responded && isConnectionError(err);
    if (connection) this.ctx.stats.connectionFailures++;
    if (connection && this.canRetry()) {
      const failed = this.state!;
      this.finish(false);
      this.done = false;
      this.ctx.stats.retries++;
      this.attempt(failed.instance.id);
      return;
    }
    // The caller gave up: that says nothing about the instance.
    this.finish(this.proxy.aborted ? undefined : this.responded ? this.status < 500 : connection ? false : undefined);
    this.fail(err);
  }

  private canRetry(): boolean {
    const method = this.opts.method.toUpperCase();
    return (
      this.ctx.retry &&
      this.attempts < 2 &&
      !this.proxy.aborted &&
      IDEMPOTENT.has(method) &&
      replayable(this.opts.body) &&
      !this.opts.upgrade
    );
  }

  private finish(ok: boolean | undefined): void {
    if (this.done || this.state === null) return;
    this.done = true;
    this.ctx.picker.end(this.state, ok);
  }

  private fail(err: Error): void {
    this.handler.onResponseError?.(this.proxy, err);
  }
}

/**
 * The controller the caller holds across attempts: it follows the current attempt's controller and
 * remembers an abort that comes before an attempt has one (the attempt is aborted when it starts,
 * as undici does for its own requests).
 */
class ProxyController implements Controller {
  target: Controller | null = null;
  private abortedReason: Error | null = null;
  private isPaused = false;

  follow(controller: Controller): void {
    this.target = controller;
    if (this.isPaused) controller.pause();
  }

  get aborted(): boolean {
    return this.abortedReason !== null || (this.target?.aborted ?? false);
  }

  get paused(): boolean {
    return this.target?.paused ?? this.isPaused;
  }

  get reason(): Error | null {
    return this.abortedReason ?? this.target?.reason ?? null;
  }

  get rawHeaders(): Controller['rawHeaders'] {
    return this.target?.rawHeaders;
  }

  get rawTrailers(): Controller['rawTrailers'] {
    return this.target?.rawTrailers;
  }

  abort(reason: Error): void {
    if (this.abortedReason !== null) return;
    this.abortedReason = reason;
    this.target?.abort(reason);
  }

  pause(): void {
    this.isPaused = true;
    this.target?.pause();
  }

  resume(): void {
    this.isPaused = false;
    this.target?.resume();
  }
}

export function hostOf(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}
