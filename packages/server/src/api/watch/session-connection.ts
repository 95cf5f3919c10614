import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { OPEN_SOCKET_ACCESS, type SocketAccess } from '../../auth/auth-guard.js';
import { CairnError } from '../../errors.js';
import { PROTOCOL_LIMITS } from '../../protocol/protocol-limits.js';
import { CLOSE_CODES, PROTOCOL_VERSION } from '../../protocol/protocol-version.js';
import {
  keepaliveMsFor,
  type SessionClientMessage,
  type SessionInstance,
  sessionClientMessageSchema,
} from '../../protocol/session-messages.js';
import { type InstanceRef, toWireInstance } from '../../protocol/wire-model.js';
import type { RegisterSpec } from '../../registry/commands.js';
import { DEFAULT_HEARTBEAT, instanceIdOf } from '../../registry/model.js';
import type { PushContext } from './push-context.js';
import { PushSocket } from './push-socket.js';

type Open = Extract<SessionClientMessage, { type: 'open' }>;

/**
 * One `/v1/session` socket: an SDK process's lease. `open` commits `session.open` (or resumes a
 * session the registry holds, possibly opened through another replica); every frame renews the lease;
 * `close` commits `session.close`. A socket that drops commits nothing: the lease runs out after its
 * TTL unless the client resumes it somewhere in time, which is how a client moves between replicas
 * without its instances ever flapping.
 */
export class SessionConnection extends PushSocket<SessionClientMessage, PushContext> {
  private sessionId: string | null = null;
  private ttlMs = 0;
  private opening = false;
  private closing = false;
  private inflight = 0;
  /** Ids of the instances registered through this socket (bounded per session). */
  private readonly instances = new Set<string>();
  private readonly openedAtMs = performance.now();

  constructor(
    socket: WebSocket,
    ctx: PushContext,
    /** What the socket's identity may write (checked per registration). */
    private readonly access: SocketAccess = OPEN_SOCKET_ACCESS,
    /** Counts a register or deregister against the client's write rate; throws RATE_LIMITED past it. */
    private readonly admitWrite: () => Promise<void> = async () => {},
  ) {
    super(socket, ctx, sessionClientMessageSchema);
  }

  protected override heard(): void {
    super.heard();
    // Every frame renews the lease, not only keepalives.
    if (this.sessionId !== null) this.ctx.registry.renew([], [this.sessionId]);
  }

  protected handle(msg: SessionClientMessage): void {
    switch (msg.type) {
      case 'open':
        if (this.sessionId !== null || this.opening) {
          throw new CairnError('CONFLICT', `session ${this.sessionId ?? '(opening)'} is already open on this socket`);
        }
        void this.open(msg);
        return;
      case 'keepalive':
        this.requireOpen();
        if (this.checkExpired()) return;
        this.send({
          type: 'alive',
          revision: this.ctx.registry.revision,
          leader: this.ctx.registry.raft.leaderId !== '',
        });
        return;
      case 'register':
        this.requireOpen();
        this.access.require('write', msg.instance.namespace);
        this.admit();
        void this.register(msg.reqId, msg.instance);
        return;
      case 'deregister':
        this.requireOpen();
        this.access.require('write', msg.instance.namespace);
        this.admit();
        void this.deregister(msg.reqId, msg.instance);
        return;
      case 'close':
        void this.closeSession();
        return;
    }
  }

  override tick(nowMs: number): boolean {
    if (!super.tick(nowMs)) return false;
    if (this.sessionId === null && !this.opening && nowMs - this.openedAtMs > this.ctx.limits.openTimeoutMs) {
      this.close(CLOSE_CODES.IDLE_TIMEOUT, 'no open in time');
      return false;
    }
    this.checkExpired();
    return true;
  }

  hello(): void {
    const { registry, limits } = this.ctx;
    this.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      zone: registry.zone,
      node: registry.raft.id,
      revision: registry.revision,
      limits: {
        ttlMsMin: PROTOCOL_LIMITS.sessionTtlMsMin,
        ttlMsMax: PROTOCOL_LIMITS.sessionTtlMsMax,
        ttlMsDefault: PROTOCOL_LIMITS.sessionTtlMsDefault,
        instancesPerSessionMax: limits.instancesPerSessionMax,
        inflightMax: limits.sessionInflightMax,
        frameBytesMax: limits.frameBytesMax,
        pingIntervalMs: limits.pingIntervalMs,
      },
    });
  }

  // -------------------------------------------------------------------------------------------
  // Opening, resuming, expiring
  // -------------------------------------------------------------------------------------------

  private async open(msg: Open): Promise<void> {
    const { registry, stats } = this.ctx;
    this.opening = true;
    try {
      if (msg.sessionId !== undefined) {
        const session = await this.findSession(msg.sessionId);
        if (this.closed) return;
        if (!session) {
          stats.sessionsExpired++;
          this.send({
            type: 'expired',
            sessionId: msg.sessionId,
            message: `session ${msg.sessionId} has expired or was closed; open a new one and register again`,
          });
          return;
        }
        this.established(session.id, session.ttlMs);
        stats.sessionsResumed++;
        this.send({ type: 'opened', ...this.leaseTerms(), resumed: true, revision: registry.revision });
        return;
      }
      const sessionId = randomUUID();
      const { revision } = await registry.execute({ op: 'session.open', sessionId, ttlMs: msg.ttlMs });
      // The socket may have dropped meanwhile: then nothing renews the lease and it simply runs out.
      if (this.closed) return;
      this.established(sessionId, msg.ttlMs);
      stats.sessionsOpened++;
      this.send({ type: 'opened', ...this.leaseTerms(), resumed: false, revision });
    } catch (err) {
      this.sendError(err);
    } finally {
      this.opening = false;
    }
  }

  /**
   * The session as the zone knows it. A linearizable read first, so a replica that lags behind the
   * one that opened the session does not call it expired; without a leader the local state decides
   * when it knows the session, and the client is told to retry when it does not.
   */
  private async findSession(id: string): Promise<{ id: string; ttlMs: number } | undefined> {
    const { registry } = this.ctx;
    try {
      await registry.barrier();
    } catch (err) {
      const local = registry.state.session(id);
      if (local) return local;
      throw err;
    }
    return registry.state.session(id);
  }

  private established(sessionId: string, ttlMs: number): void {
    this.sessionId = sessionId;
    this.ttlMs = ttlMs;
    this.ctx.registry.renew([], [sessionId]);
  }

  private leaseTerms(): { sessionId: string; ttlMs: number; keepaliveMs: number } {
    return { sessionId: this.sessionId!, ttlMs: this.ttlMs, keepaliveMs: keepaliveMsFor(this.ttlMs) };
  }

  /**
   * A session this socket holds disappears from the registry only when it is closed or expired (the
   * state never moves back), so its absence here is final: tell the client, which opens a new one.
   */
  private checkExpired(): boolean {
    const id = this.sessionId;
    if (id === null || this.closing || this.ctx.registry.state.session(id)) return false;
    this.sessionId = null;
    this.instances.clear();
    this.ctx.stats.sessionsExpired++;
    this.send({
      type: 'expired',
      sessionId: id,
      message: `session ${id} expired (its lease ran out) and its instances were removed; open a new one and register again`,
    });
    return true;
  }

  private requireOpen(): void {
    if (this.sessionId === null) throw new CairnError('CONFLICT', 'no session is open on this socket; send open first');
    if (this.closing) throw new CairnError('CONFLICT', 'the session is closing');
  }

  private admit(): void {
    if (this.inflight >= this.ctx.limits.sessionInflightMax) {
      throw new CairnError(
        'RATE_LIMITED',
        `at most ${this.ctx.limits.sessionInflightMax} requests in flight per session; wait for answers`,
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Instances
  // -------------------------------------------------------------------------------------------

  private async register(reqId: number, instance: SessionInstance): Promise<void> {
    const { registry, limits } = this.ctx;
    const sessionId = this.sessionId!;
    const id = instanceIdOf(instance);
    this.inflight++;
    try {
      if (!this.instances.has(id) && this.instances.size >= limits.instancesPerSessionMax) {
        throw new CairnError('RATE_LIMITED', `at most ${limits.instancesPerSessionMax} instances per session`);
      }
      await this.admitWrite();
      const spec: RegisterSpec = {
        ...instance,
        healthy: true,
        ephemeral: true,
        zone: registry.zone,
        heartbeat: DEFAULT_HEARTBEAT,
        lease: { kind: 'session', sessionId },
        check: null,
      };
      this.ctx.quota?.admit({ op: 'register', instance: spec });
      const { revision, result } = await registry.execute({ op: 'register', instance: spec });
      const registered = result.instance ?? registry.state.instance(instance);
      if (!registered) throw new CairnError('INTERNAL', `instance ${id} missing after its registration`);
      if (this.sessionId === sessionId) this.instances.add(id);
      this.send({ type: 'registered', reqId, revision, instance: toWireInstance(registered) });
    } catch (err) {
      this.sendError(err, { reqId });
      // A registration refused because the session is gone: say so now, not at the next keepalive.
      if (err instanceof CairnError && err.code === 'NOT_FOUND' && this.sessionId === sessionId) this.checkExpired();
    } finally {
      this.inflight--;
    }
  }

  private async deregister(reqId: number, ref: InstanceRef): Promise<void> {
    const { registry } = this.ctx;
    const sessionId = this.sessionId!;
    const id = instanceIdOf(ref);
    this.inflight++;
    try {
      const cur = registry.state.instance(ref);
      if (cur?.lease?.kind !== 'session' || cur.lease.sessionId !== sessionId) {
        throw new CairnError(
          'NOT_FOUND',
          `no instance ${ref.ip}:${ref.port} of ${ref.namespace}/${ref.group}/${ref.service} (cluster ${ref.cluster}) under this session`,
        );
      }
      await this.admitWrite();
      const { revision } = await registry.execute({ op: 'deregister', key: ref });
      this.instances.delete(id);
      this.send({ type: 'deregistered', reqId, revision });
    } catch (err) {
      this.sendError(err, { reqId });
    } finally {
      this.inflight--;
    }
  }

  /** Commits `session.close` (all the session's instances go in one revision), answers, and closes. */
  private async closeSession(): Promise<void> {
    const { registry, stats } = this.ctx;
    const id = this.sessionId;
    if (this.closing) return;
    if (id === null) {
      this.send({ type: 'closed', revision: registry.revision });
      this.close(CLOSE_CODES.NORMAL, 'closed');
      return;
    }
    this.closing = true;
    try {
      const { revision } = await registry.execute({ op: 'session.close', sessionIds: [id] });
      this.sessionId = null;
      this.instances.clear();
      stats.sessionsClosed++;
      this.send({ type: 'closed', revision });
      this.close(CLOSE_CODES.NORMAL, 'session closed');
    } catch (err) {
      // Still open (or unknown): the client may retry `close`, or just go and let the lease run out.
      this.closing = false;
      this.sendError(err);
    }
  }

  protected release(): void {
    // Nothing is committed when a socket goes: the lease runs out unless the client resumes in time.
    this.instances.clear();
  }
}
