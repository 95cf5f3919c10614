import { Agent, Dispatcher, Pool } from 'undici';
import type { Clock, TimerHandle } from '../clock.js';
import { CairnSdkError } from '../errors.js';
import type { ServiceRef } from '../instance.js';
import type { InstanceState } from '../picking/instance-state.js';
import type { Labels } from '../picking/label-selector.js';
import type { ZonePicker } from '../picking/zone-picker.js';
import { modernHandler } from './handler-adapter.js';
import { hostOf, type RequestContext, ServiceRequest } from './service-request.js';

/** What the dispatcher needs from the registry. */
export interface ServiceDirectory {
  /** The picker of a service (subscribing to it if needed), and when it first holds a view. */
  pickerFor(ref: ServiceRef): { picker: ZonePicker; ready: Promise<void> };
  /** Every instance origin (`ip:port`) currently known, so pools of vanished instances can be closed. */
  knownAddresses(): Set<string>;
  readonly namespace: string;
  readonly group: string;
  readonly clock: Clock;
}

export interface DispatcherOptions {
  /**
   * Hosts `<service>.<suffix>` name a service too (e.g. `svc.cairn`: `http://orders.svc.cairn/`).
   * A host without a dot (`http://orders/`) always names a service, except `localhost`.
   */
  readonly suffix?: string;
  /** Only instances carrying these labels (canary routes; see `labelFallback`). */
  readonly labels?: Labels;
  /** Retry an idempotent request once on another instance after a connection failure (default true). */
  readonly retry?: boolean;
  /** How long a call to a service with no view yet waits for its first view (default 5000). */
  readonly firstViewTimeoutMs?: number;
  /** Options of each instance's connection pool (undici Pool). */
  readonly pool?: Pool.Options;
  /** Where other hosts go (default: an undici Agent of this dispatcher's own). */
  readonly passthrough?: Dispatcher;
  /** How often pools of instances that left every view are closed (default 30000). */
  readonly poolSweepMs?: number;
}

export interface DispatcherStats {
  requests: number;
  passthrough: number;
  retries: number;
  connectionFailures: number;
  noInstance: number;
  pools: number;
}

const HOST_CACHE_MAX = 1024;

/**
 * An undici Dispatcher that sends `http://<service>/...` to an instance the zone picker chose, over
 * a connection pool per instance, and passes every other host through unchanged. Use it per call
 * (`request(url, { dispatcher })`, `fetch(url, { dispatcher })`) or for the whole process
 * (`setGlobalDispatcher`).
 */
export class CairnDispatcher extends Dispatcher {
  private readonly pools = new Map<string, Pool>();
  private readonly hosts = new Map<string, ServiceRef | null>();
  private readonly passthrough: Dispatcher;
  private readonly ownsPassthrough: boolean;
  private sweeper: TimerHandle;
  private closed = false;
  private readonly counters = { requests: 0, passthrough: 0, retries: 0, connectionFailures: 0, noInstance: 0 };

  constructor(
    private readonly directory: ServiceDirectory,
    private readonly options: DispatcherOptions = {},
  ) {
    super();
    this.ownsPassthrough = options.passthrough === undefined;
    this.passthrough = options.passthrough ?? new Agent();
    const sweepMs = options.poolSweepMs ?? 30_000;
    const sweep = (): void => {
      this.sweepPools();
      if (!this.closed) this.sweeper = directory.clock.setTimer(sweep, sweepMs);
    };
    this.sweeper = directory.clock.setTimer(sweep, sweepMs);
  }

  get stats(): DispatcherStats {
    return { ...this.counters, pools: this.pools.size };
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.closed) {
      const err = new CairnSdkError('CLOSED', 'the cairn dispatcher is closed');
      modernHandler(handler).onResponseError?.(closedController(), err);
      return false;
    }
    const origin = opts.origin === undefined ? undefined : String(opts.origin);
    const ref = origin === undefined ? null : this.serviceOf(origin);
    if (ref === null) {
      this.counters.passthrough++;
      return this.passthrough.dispatch(opts, handler);
    }
    this.counters.requests++;
    const protocol = origin!.startsWith('https:') ? 'https:' : 'http:';
    const { picker, ready } = this.directory.pickerFor(ref);
    const ctx: RequestContext = {
      picker,
      labels: this.options.labels,
      service: ref.service,
      retry: this.options.retry ?? true,
      poolFor: (s, proto) => this.poolFor(s, proto),
      stats: this.counters,
    };
    const req = new ServiceRequest(ctx, opts, protocol, modernHandler(handler));
    if (picker.size > 0) {
      req.start();
      return true;
    }
    // No view yet (the first call to this service): wait for one, bounded.
    const timeoutMs = this.options.firstViewTimeoutMs ?? 5000;
    let timer: TimerHandle | null = null;
    const timeout = new Promise<void>((resolve) => {
      timer = this.directory.clock.setTimer(resolve, timeoutMs, true);
    });
    void Promise.race([ready, timeout]).then(() => {
      (timer as TimerHandle | null)?.cancel();
      req.start();
    });
    return true;
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const p = this.shutdown((d) => d.close());
    if (callback) {
      void p.then(callback);
      return;
    }
    return p;
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const p = this.shutdown((d) => d.destroy(err));
    if (callback) {
      void p.then(callback);
      return;
    }
    return p;
  }

  /** The service an origin names, or null to pass it through. */
  serviceOf(origin: string): ServiceRef | null {
    const cached = this.hosts.get(origin);
    if (cached !== undefined) return cached;
    const ref = this.parse(origin);
    if (this.hosts.size >= HOST_CACHE_MAX) this.hosts.clear();
    this.hosts.set(origin, ref);
    return ref;
  }

  private parse(origin: string): ServiceRef | null {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return null;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    const host = url.hostname.toLowerCase();
    const suffix = this.options.suffix?.toLowerCase();
    let service: string | null = null;
    if (suffix && host.endsWith(`.${suffix}`)) service = host.slice(0, -suffix.length - 1);
    else if (!host.includes('.') && !host.includes(':') && host !== 'localhost' && !host.startsWith('['))
      service = host;
    if (service === null || service.length === 0) return null;
    return { namespace: this.directory.namespace, group: this.directory.group, service };
  }

  private poolFor(s: InstanceState, protocol: string): Pool {
    const key = `${protocol}//${hostOf(s.instance.ip)}:${s.instance.port}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new Pool(key, this.options.pool);
      this.pools.set(key, pool);
    }
    return pool;
  }

  private sweepPools(): void {
    const known = this.directory.knownAddresses();
    for (const [key, pool] of this.pools) {
      const addr = key.slice(key.indexOf('//') + 2);
      if (known.has(addr)) continue;
      this.pools.delete(key);
      void pool.close().catch(() => {});
    }
  }

  private async shutdown(how: (d: Dispatcher) => Promise<void>): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.sweeper.cancel();
    }
    const all: Dispatcher[] = [...this.pools.values()];
    this.pools.clear();
    if (this.ownsPassthrough) all.push(this.passthrough);
    await Promise.all(all.map((d) => how(d).catch(() => {})));
  }
}

function closedController(): Dispatcher.DispatchController {
  return {
    aborted: true,
    paused: false,
    reason: null,
    abort: () => {},
    pause: () => {},
    resume: () => {},
  };
}
