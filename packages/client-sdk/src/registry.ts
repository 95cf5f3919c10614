import { Agent } from 'undici';
import type { TimerHandle } from './clock.js';
import { type ConnectOptions, checkName, type ResolvedOptions, resolveOptions } from './connect-options.js';
import { CairnDispatcher, type DispatcherOptions, type DispatcherStats } from './dispatch/cairn-dispatcher.js';
import { hostOf } from './dispatch/service-request.js';
import { CairnSdkError } from './errors.js';
import type { Instance, ServiceRef } from './instance.js';
import { serviceKeyOf } from './instance.js';
import { detectIp } from './ip-detect.js';
import type { Labels } from './picking/label-selector.js';
import { type PickCounters, type PickExplanation, ZonePicker } from './picking/zone-picker.js';
import { freshRead } from './transport/fresh-read.js';
import { ReplicaSet } from './transport/replica-set.js';
import { SessionClient, type SessionInstanceSpec, type SessionStatus } from './transport/session-client.js';
import { WatchStream } from './transport/watch-stream.js';
import { DiskCache, type SourceName } from './view/disk-cache.js';
import { type HeldUpdate, ServiceView, type Staleness } from './view/service-view.js';
import { ServiceWatch } from './view/service-watch.js';

export interface RegisterOptions {
  readonly service: string;
  readonly port: number;
  /** Default: the client's IP (given, CAIRN_IP, or detected). */
  readonly ip?: string;
  readonly weight?: number;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly cluster?: string;
  readonly enabled?: boolean;
  readonly namespace?: string;
  readonly group?: string;
}

/** An instance this process keeps registered. */
export interface Registration {
  /** The instance as the registry last answered. */
  readonly instance: Instance;
  /** Changes weight, metadata or enabled (the instance stays registered throughout). */
  update(changes: {
    weight?: number;
    metadata?: Readonly<Record<string, string>>;
    enabled?: boolean;
  }): Promise<Instance>;
  deregister(): Promise<void>;
}

export interface PickOptions {
  /** Metadata every picked instance must carry; treated as immutable once passed (its key is cached). */
  readonly labels?: Labels;
  readonly namespace?: string;
  readonly group?: string;
}

/** Why calls to a service go where they go, and how fresh the view behind that is. */
export interface Explanation extends PickExplanation {
  readonly service: ServiceRef;
  readonly revision: number;
  readonly instances: number;
  /** Null while live; else since when the view may differ from the registry. */
  readonly stale: Staleness | null;
  /** An update push-empty protection is holding back. */
  readonly held: HeldUpdate | null;
  readonly sources: {
    readonly local: { readonly connected: boolean; readonly replica: string | null; readonly node: string | null };
    readonly federation: { readonly connected: boolean; readonly replica: string | null } | null;
  };
}

export interface RegistryStats {
  /** Sums over every service. */
  readonly picks: PickCounters;
  readonly services: Record<string, PickCounters>;
  readonly dispatcher: Omit<DispatcherStats, 'pools'> & { pools: number };
  readonly session: SessionStatus | null;
  readonly watch: { readonly connected: boolean; readonly replica: string | null };
}

interface Entry {
  readonly view: ServiceView;
  readonly picker: ZonePicker;
}

/**
 * The SDK's face: registration under one session, watched services with their pickers, the undici
 * Dispatcher, explanations. Made by `connect()`.
 */
export class Registry {
  readonly zone: string;
  readonly namespace: string;
  readonly group: string;
  private readonly entries = new Map<string, Entry>();
  /** Entries of the default namespace and group, by service name. */
  private readonly byName = new Map<string, Entry>();
  private readonly local: WatchStream;
  private readonly federation: WatchStream | null;
  private session: SessionClient | null = null;
  private readonly cache: DiskCache | null;
  private readonly dispatchers: CairnDispatcher[] = [];
  private defaultDispatcher: CairnDispatcher | null = null;
  /** Fresh reads over REST. */
  private readonly readAgent: Agent;
  /** The watch and session sockets, when a CA is given for https servers; else undici's global dispatcher. */
  private readonly socketAgent: Agent | undefined;
  private ipPromise: Promise<string> | null = null;
  private signalHandlers: [NodeJS.Signals, () => void][] = [];
  private closing: Promise<void> | null = null;
  private readonly pendingTimers = new Set<TimerHandle>();

  /** Use `connect()`. */
  constructor(private readonly o: ResolvedOptions) {
    this.zone = o.zone;
    this.namespace = o.namespace;
    this.group = o.group;
    const connect = o.tlsCa === undefined ? undefined : { ca: o.tlsCa };
    this.readAgent = new Agent({ connections: 4, ...(connect ? { connect } : {}) });
    this.socketAgent = connect ? new Agent({ connect }) : undefined;
    this.cache =
      o.cacheDir === null ? null : new DiskCache(o.cacheDir, (err, what) => o.logger.warn({ err: String(err) }, what));
    const stream = (source: SourceName, urls: readonly string[]) =>
      new WatchStream({
        source,
        replicas: new ReplicaSet(urls, 100, 3000, o.random),
        clock: o.clock,
        logger: o.logger,
        headers: o.headers,
        dispatcher: this.socketAgent,
        connectTimeoutMs: Math.min(o.connectTimeoutMs, 2000),
        silenceMs: 45_000,
      });
    this.local = stream('local', o.servers);
    this.federation = o.federation.length > 0 ? stream('federation', o.federation) : null;
  }

  /** Starts the streams and waits (bounded) for the zone registry. */
  async start(): Promise<void> {
    this.local.start();
    this.federation?.start();
    const reached = await this.local.whenConnected(this.o.connectTimeoutMs);
    const refusal = this.local.refusal;
    if (!reached && refusal) {
      // Wrong or missing credentials are a configuration error, not an outage: no cache hides it.
      await this.close();
      throw refusal;
    }
    if (!reached) {
      this.o.logger.warn(
        { servers: this.o.servers },
        'no zone registry reachable: serving from the disk cache while reconnecting',
      );
    }
    for (const signal of this.o.signals) this.hookSignal(signal);
  }

  /** Whether the zone registry's watch stream is connected now. */
  get connected(): boolean {
    return this.local.connected;
  }

  // -----------------------------------------------------------------------------------------------
  // Registration
  // -----------------------------------------------------------------------------------------------

  /** Registers an instance of this process under the process's session (opened on first use). */
  async register(opts: RegisterOptions): Promise<Registration> {
    this.ensureOpen();
    checkName('service', opts.service);
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65_535) {
      throw new CairnSdkError('INVALID_OPTIONS', `port must be 1-65535, got ${opts.port}`);
    }
    const weight = opts.weight ?? 100;
    if (!(weight >= 0 && weight <= 10_000)) throw new CairnSdkError('INVALID_OPTIONS', 'weight must be 0-10000');
    const ip = opts.ip ?? this.o.ip ?? (await this.detectedIp());
    let spec: SessionInstanceSpec = {
      namespace: opts.namespace ?? this.namespace,
      group: opts.group ?? this.group,
      service: opts.service,
      cluster: opts.cluster ?? 'DEFAULT',
      ip,
      port: opts.port,
      weight,
      enabled: opts.enabled ?? true,
      metadata: { ...(opts.metadata ?? {}) },
    };
    const session = this.sessionClient();
    let instance = await session.register(spec);
    return {
      get instance() {
        return instance;
      },
      update: async (changes) => {
        spec = {
          ...spec,
          ...(changes.weight !== undefined ? { weight: changes.weight } : {}),
          ...(changes.enabled !== undefined ? { enabled: changes.enabled } : {}),
          ...(changes.metadata !== undefined ? { metadata: { ...changes.metadata } } : {}),
        };
        instance = await session.register(spec);
        return instance;
      },
      deregister: () => session.deregister(spec),
    };
  }

  // -----------------------------------------------------------------------------------------------
  // Discovery
  // -----------------------------------------------------------------------------------------------

  /** Subscribes to a service (once per process) and returns a handle on its view. */
  watch(service: string | ServiceRef): ServiceWatch {
    this.ensureOpen();
    return new ServiceWatch(this.entry(this.refOf(service)).view);
  }

  /**
   * An instance to call, without I/O. The first call for a service subscribes to it and finds no
   * view yet (undefined): `await registry.watch(service).ready` first, or use the Dispatcher,
   * which waits for the first view by itself.
   */
  pick(service: string, opts?: PickOptions): Instance | undefined {
    // The hot path: services of the default namespace and group are found by name alone (building
    // a composite key per call would cost more than the pick itself).
    const e =
      (opts?.namespace === undefined && opts?.group === undefined ? this.byName.get(service) : undefined) ??
      this.entries.get(this.keyOf(service, opts ?? {})) ??
      this.entry(this.refOf(service, opts));
    return e.picker.pick(opts?.labels);
  }

  /** Tells outlier ejection how a call to a picked instance went (the Dispatcher does this itself). */
  report(instance: Instance, ok: boolean): void {
    const e = this.entries.get(serviceKeyOf(instance));
    e?.picker.report(instance.id, ok);
  }

  /** Which zone calls to a service go to now, and why. */
  explain(service: string, opts: PickOptions = {}): Explanation {
    const ref = this.refOf(service, opts);
    const e = this.entry(ref);
    const local = this.local.server;
    const fed = this.federation?.server ?? null;
    return {
      ...e.picker.explain(opts.labels),
      service: ref,
      revision: e.view.revision,
      instances: e.picker.size,
      stale: e.view.staleness,
      held: e.view.held,
      sources: {
        local: { connected: local !== null, replica: local?.url ?? null, node: local?.node ?? null },
        federation: this.federation ? { connected: fed !== null, replica: fed?.url ?? null } : null,
      },
    };
  }

  /**
   * An undici Dispatcher sending `http://<service>/...` to picked instances. Without options the
   * same one is returned each time.
   */
  dispatcher(opts?: DispatcherOptions): CairnDispatcher {
    this.ensureOpen();
    if (opts === undefined && this.defaultDispatcher) return this.defaultDispatcher;
    const d = new CairnDispatcher(
      {
        namespace: this.namespace,
        group: this.group,
        clock: this.o.clock,
        pickerFor: (ref) => {
          const e = this.entry(ref);
          return { picker: e.picker, ready: e.view.ready };
        },
        knownAddresses: () => this.knownAddresses(),
      },
      opts,
    );
    this.dispatchers.push(d);
    if (opts === undefined) this.defaultDispatcher = d;
    return d;
  }

  stats(): RegistryStats {
    const services: Record<string, PickCounters> = {};
    const picks: PickCounters = { picks: 0, local: 0, crossZone: 0, panic: 0, labelFallback: 0, none: 0 };
    for (const [key, e] of this.entries) {
      services[key] = { ...e.picker.counters };
      for (const k of Object.keys(picks) as (keyof PickCounters)[]) picks[k] += e.picker.counters[k];
    }
    const dispatcher = { requests: 0, passthrough: 0, retries: 0, connectionFailures: 0, noInstance: 0, pools: 0 };
    for (const d of this.dispatchers) {
      const s = d.stats;
      for (const k of Object.keys(dispatcher) as (keyof DispatcherStats)[]) dispatcher[k] += s[k];
    }
    const server = this.local.server;
    return {
      picks,
      services,
      dispatcher,
      session: this.session?.status ?? null,
      watch: { connected: server !== null, replica: server?.url ?? null },
    };
  }

  /**
   * Deregisters every instance at once (the session closes), closes the streams, the dispatchers'
   * pools, and writes every view to the disk cache a last time.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.unhookSignals();
      for (const t of this.pendingTimers) t.cancel();
      this.pendingTimers.clear();
      await this.session?.close();
      await Promise.all([this.local.close(), this.federation?.close()]);
      for (const e of this.entries.values()) {
        e.view.close();
        e.picker.close();
      }
      await Promise.all(this.dispatchers.map((d) => d.close()));
      await this.readAgent.close();
      await this.socketAgent?.close();
      await this.cache?.flush();
    })();
    return this.closing;
  }

  // -----------------------------------------------------------------------------------------------

  private ensureOpen(): void {
    if (this.closing) throw new CairnSdkError('CLOSED', 'the registry client is closed');
  }

  private refOf(service: string | ServiceRef, opts: PickOptions = {}): ServiceRef {
    const ref =
      typeof service === 'string'
        ? { namespace: opts.namespace ?? this.namespace, group: opts.group ?? this.group, service }
        : service;
    checkName('namespace', ref.namespace);
    checkName('group', ref.group);
    checkName('service', ref.service);
    return ref;
  }

  private keyOf(service: string, opts: PickOptions): string {
    return `${opts.namespace ?? this.namespace}/${opts.group ?? this.group}/${service}`;
  }

  /** The view and picker of a service, subscribing on first use. */
  private entry(ref: ServiceRef): Entry {
    const key = serviceKeyOf(ref);
    const found = this.entries.get(key);
    if (found) return found;
    const { o } = this;
    const picker = new ZonePicker({
      policy: o.policy,
      outliers: o.outliers,
      labelFallback: o.labelFallback,
      random: o.random,
      clock: o.clock,
      departedMemoryMs: o.departedMemoryMs,
    });
    const view = new ServiceView({
      ref,
      localZone: o.zone,
      picker,
      clock: o.clock,
      cache: this.cache,
      pushEmptyProtection: o.pushEmptyProtection,
      confirm: (source, r) => this.confirm(source, r),
      resync: (source) => (source === 'local' ? this.local : this.federation)?.resync(view),
    });
    const e = { view, picker };
    this.entries.set(key, e);
    if (ref.namespace === this.namespace && ref.group === this.group) this.byName.set(ref.service, e);
    this.local.add(view);
    this.federation?.add(view);
    if (!this.local.connected) {
      void this.fillFromCache(view);
    } else {
      // Bounds what callers of `ready` await, so it keeps the process alive (until close()).
      const timer = o.clock.setTimer(
        () => {
          this.pendingTimers.delete(timer);
          if (!view.has('local')) void this.fillFromCache(view);
        },
        o.firstViewTimeoutMs,
        true,
      );
      this.pendingTimers.add(timer);
    }
    return e;
  }

  /** Serves a view from the disk cache when its registry cannot give one (yet). */
  private async fillFromCache(view: ServiceView): Promise<void> {
    const cached = this.cache ? await this.cache.load(view.ref) : null;
    if (cached && !view.has('local') && view.loadCache(cached)) {
      this.o.logger.warn(
        { service: view.key, staleSinceMs: cached.freshAtMs },
        'serving a service from the disk cache',
      );
    }
    view.markReady();
  }

  private confirm(source: SourceName, ref: ServiceRef) {
    const bases = source === 'local' ? this.o.servers : this.o.federation;
    return freshRead(bases, ref, { headers: this.o.headers, timeoutMs: 2000, dispatcher: this.readAgent });
  }

  private sessionClient(): SessionClient {
    if (this.session) return this.session;
    this.session = new SessionClient({
      replicas: new ReplicaSet(this.o.servers, 100, 1000, this.o.random),
      clock: this.o.clock,
      logger: this.o.logger,
      headers: this.o.headers,
      dispatcher: this.socketAgent,
      ttlMs: this.o.sessionTtlMs,
      connectTimeoutMs: Math.min(1000, this.o.sessionTtlMs / 3),
      requestTimeoutMs: 10_000,
    });
    this.session.start();
    return this.session;
  }

  private detectedIp(): Promise<string> {
    this.ipPromise ??= detectIp(this.o.servers);
    return this.ipPromise;
  }

  private knownAddresses(): Set<string> {
    const out = new Set<string>();
    for (const e of this.entries.values()) for (const i of e.picker.instances()) out.add(`${hostOf(i.ip)}:${i.port}`);
    return out;
  }

  /** Deregisters on the signal, then lets it do what it would have done without us. */
  private hookSignal(signal: NodeJS.Signals): void {
    const handler = (): void => {
      this.o.logger.info({ signal }, 'deregistering on signal');
      const bounded = new Promise<void>((resolve) => setTimeout(resolve, 3000).unref());
      void Promise.race([this.close(), bounded]).finally(() => {
        this.unhookSignals();
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    };
    process.once(signal, handler);
    this.signalHandlers.push([signal, handler]);
  }

  private unhookSignals(): void {
    for (const [signal, handler] of this.signalHandlers) process.off(signal, handler);
    this.signalHandlers = [];
  }
}

/** Connects to the zone registry (and the federation, if given) and returns the registry client. */
export async function connect(options: ConnectOptions = {}): Promise<Registry> {
  const registry = new Registry(resolveOptions(options));
  await registry.start();
  return registry;
}
