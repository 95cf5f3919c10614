/**
 * Peer links over WebSocket. Each node dials every peer it has something to say to (one outbound
 * PeerLink per peer, send-only) and receives on the sockets its peers dial in. Inbound links are
 * authenticated at the HTTP upgrade (see peer-auth.ts); frames are versioned binary batches (codec.ts).
 *
 * The transport is served on the owning server's port: `attach(server)` handles upgrades for one
 * path and leaves every other path to other handlers; `acceptSocket(ws, req)` takes a socket that
 * another framework (e.g. @fastify/websocket) already upgraded.
 */
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { invariant } from '../core/errors.js';
import type { Message, NodeId } from '../core/types.js';
import { CodecError, decodeFrame } from './codec.js';
import { LogThrottle } from './log-throttle.js';
import { type UpgradeVerdict, UpgradeVerifier } from './peer-auth.js';
import { PeerLink, type PeerTlsOptions } from './peer-link.js';
import { type PeerLinkStatus, TransportCounters, type TransportStats } from './transport-stats.js';

export const DEFAULT_PEER_PATH = '/raft/peer';

export interface PeerTransportOptions {
  readonly id: NodeId;
  readonly clusterSecret: string | Uint8Array;
  /**
   * Dial peers at `wss://` with the TLS options this returns (asked at every dial, so reloaded
   * certificates take effect); omitted: `ws://`. Inbound TLS belongs to the server the transport
   * is attached to.
   */
  readonly tls?: () => PeerTlsOptions;
  /** This node's "host:port" as peers reach it; sent when dialing so a joining node can answer. */
  readonly advertiseAddress?: string;
  /** Whether `id` may link to this node (a current voter or learner). */
  readonly isMember: (id: NodeId) => boolean;
  /** Authenticated messages from `from`, one call per frame, in arrival order. */
  readonly onMessages: (from: NodeId, messages: Message[]) => void;
  /** A peer authenticated and told its address; the owner decides whether to record it. */
  readonly onPeerAddress?: (id: NodeId, address: string) => void;
  /**
   * A working connection with a peer broke: its link to us or ours to it closed (not replaced by a
   * newer one). A peer process that dies is seen here at once, long before an election timeout.
   */
  readonly onPeerLost?: (id: NodeId) => void;
  /** Largest frame sent or accepted (ws maxPayload). Must exceed the largest Raft message. */
  readonly maxFrameBytes: number;
  /** Reconnect backoff cap; keep it below the election timeout. */
  readonly reconnectMaxMs: number;
  readonly reconnectBaseMs?: number;
  /** Messages waiting per peer before new ones are dropped. */
  readonly maxQueuedMessages?: number;
  /** Unsent bytes per socket before frames are dropped. */
  readonly maxBufferedBytes?: number;
  readonly authWindowMs?: number;
  readonly handshakeTimeoutMs?: number;
  readonly pingIntervalMs?: number;
  readonly path?: string;
  readonly logger: Logger;
  /** A number in [0, 1), for reconnect jitter. */
  readonly random?: () => number;
}

const DEFAULTS = {
  reconnectBaseMs: 25,
  maxQueuedMessages: 4096,
  maxBufferedBytes: 64 * 1024 * 1024,
  authWindowMs: 30_000,
  handshakeTimeoutMs: 2_000,
  pingIntervalMs: 5_000,
};

/** WebSocket close codes (RFC 6455). */
const CLOSE_POLICY = 1008;
const CLOSE_INVALID_PAYLOAD = 1007;
const CLOSE_REPLACED = 4000;

export class PeerTransport {
  readonly id: NodeId;
  private readonly opts: PeerTransportOptions;
  private readonly secret: Uint8Array;
  private readonly path: string;
  private readonly log: Logger;
  private readonly counters = new TransportCounters();
  private readonly verifier: UpgradeVerifier;
  private readonly wss: WebSocketServer;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Map<NodeId, WebSocket>();
  private readonly detachers: (() => void)[] = [];
  private readonly throttle = new LogThrottle();
  private closed = false;

  constructor(options: PeerTransportOptions) {
    invariant(options.maxFrameBytes > 1024, `maxFrameBytes too small: ${options.maxFrameBytes}`);
    invariant(options.reconnectMaxMs > 0, `reconnectMaxMs must be positive: ${options.reconnectMaxMs}`);
    this.id = options.id;
    this.opts = options;
    this.secret =
      typeof options.clusterSecret === 'string'
        ? new TextEncoder().encode(options.clusterSecret)
        : options.clusterSecret;
    invariant(this.secret.byteLength > 0, 'the cluster secret is empty');
    this.path = options.path ?? DEFAULT_PEER_PATH;
    this.log = options.logger;
    this.verifier = new UpgradeVerifier({
      self: options.id,
      secret: this.secret,
      windowMs: options.authWindowMs ?? DEFAULTS.authWindowMs,
      isMember: options.isMember,
    });
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Outbound
  // -------------------------------------------------------------------------------------------

  /** Adds a peer or changes its address. */
  setPeer(id: NodeId, address: string): void {
    if (this.closed || id === this.id) return;
    const link = this.links.get(id);
    if (link) {
      link.setAddress(address);
      return;
    }
    const o = this.opts;
    this.links.set(
      id,
      new PeerLink({
        self: this.id,
        peer: id,
        address,
        path: this.path,
        secret: this.secret,
        ...(o.tls ? { tls: o.tls } : {}),
        advertiseAddress: o.advertiseAddress ?? '',
        maxFrameBytes: o.maxFrameBytes,
        maxQueuedMessages: o.maxQueuedMessages ?? DEFAULTS.maxQueuedMessages,
        maxBufferedBytes: o.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes,
        reconnectBaseMs: Math.min(o.reconnectBaseMs ?? DEFAULTS.reconnectBaseMs, o.reconnectMaxMs),
        reconnectMaxMs: o.reconnectMaxMs,
        handshakeTimeoutMs: o.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
        pingIntervalMs: o.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
        counters: this.counters,
        logger: this.log,
        random: o.random ?? Math.random,
        onDown: () => this.peerLost(id),
      }),
    );
  }

  /** Forgets a peer: its outbound link and any socket it dialed in are closed. */
  removePeer(id: NodeId): void {
    this.links.get(id)?.close();
    this.links.delete(id);
    this.inbound.get(id)?.close(CLOSE_POLICY, 'removed from the cluster');
    this.inbound.delete(id);
  }

  /**
   * Closes the inbound sockets of peers that are no longer members (call after the membership
   * changed). Frames are checked one by one as well, so this only hastens what would happen anyway.
   */
  closeNonMembers(): void {
    for (const [id, ws] of [...this.inbound]) {
      if (this.opts.isMember(id)) continue;
      this.inbound.delete(id);
      this.refuseSocket(ws, id, CLOSE_POLICY, `${id} is no longer a member of the cluster`);
    }
  }

  hasPeer(id: NodeId): boolean {
    return this.links.has(id);
  }

  /** Queues messages for their peers; each peer's messages of this event-loop turn leave as one frame. */
  send(messages: readonly Message[]): void {
    for (const m of messages) {
      const link = this.links.get(m.to);
      if (link === undefined) {
        this.counters.messagesDropped++;
        if (this.throttle.allow(`unknown:${m.to}`))
          this.log.warn({ to: m.to, type: m.type }, 'no address for raft peer; message dropped');
        continue;
      }
      link.enqueue(m);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Inbound
  // -------------------------------------------------------------------------------------------

  /** Serves peer links on `server` at `path`; other upgrade paths are left to other listeners. */
  attach(server: Server, path = this.path): void {
    invariant(!this.closed, 'attach on a closed transport');
    const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (pathOf(req.url) !== path) return;
      const verdict = this.verifyUpgrade(req);
      if (!verdict.ok) {
        refuseUpgrade(socket, verdict.status, verdict.reason);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.adopt(ws, verdict.peer, verdict.address));
    };
    server.on('upgrade', listener);
    this.detachers.push(() => server.off('upgrade', listener));
  }

  /**
   * Checks an upgrade request's authentication. Exposed so a framework can refuse with an HTTP status
   * before upgrading (e.g. in a fastify preValidation hook), then hand the socket to `acceptSocket`.
   * Refusals are counted and logged here.
   */
  verifyUpgrade(req: IncomingMessage): UpgradeVerdict {
    const verdict = this.closed
      ? ({ ok: false, status: 503, reason: 'raft transport closed', peer: '' } as const)
      : this.verifier.verify(req.headers);
    if (!verdict.ok) {
      this.counters.upgradesRefused++;
      if (this.throttle.allow(`refuse:${verdict.peer}`)) {
        this.log.warn(
          { peer: verdict.peer, remote: req.socket.remoteAddress, status: verdict.status, reason: verdict.reason },
          'raft peer link refused',
        );
      }
    }
    return verdict;
  }

  /** Takes a socket another framework upgraded; it is authenticated here, closed with 1008 if not. */
  acceptSocket(ws: WebSocket, req: IncomingMessage): void {
    const verdict = this.verifyUpgrade(req);
    if (!verdict.ok) {
      ws.close(CLOSE_POLICY, verdict.reason.slice(0, 120));
      return;
    }
    this.adopt(ws, verdict.peer, verdict.address);
  }

  private adopt(ws: WebSocket, peer: NodeId, address: string): void {
    if (this.closed) {
      ws.terminate();
      return;
    }
    ws.binaryType = 'nodebuffer';
    const previous = this.inbound.get(peer);
    // The peer redialed; its old socket is dead or dying. One inbound socket per peer bounds them.
    if (previous !== undefined) previous.close(CLOSE_REPLACED, 'replaced by a newer link');
    this.inbound.set(peer, ws);
    this.log.debug({ peer, address }, 'raft peer link accepted');
    if (address !== '' && this.opts.onPeerAddress) {
      try {
        this.opts.onPeerAddress(peer, address);
      } catch (err) {
        this.log.error({ peer, err }, 'raft peer address handler threw');
      }
    }
    ws.on('message', (data: RawData, isBinary: boolean) => this.onFrame(ws, peer, data, isBinary));
    ws.on('error', (err) => this.log.debug({ peer, err: err.message }, 'raft inbound peer socket error'));
    ws.on('close', () => {
      if (this.inbound.get(peer) !== ws) return; // replaced by a newer link, or refused
      this.inbound.delete(peer);
      this.peerLost(peer);
    });
  }

  private peerLost(id: NodeId): void {
    if (this.closed || !this.opts.onPeerLost) return;
    try {
      this.opts.onPeerLost(id);
    } catch (err) {
      this.log.error({ peer: id, err }, 'raft peer-lost handler threw');
    }
  }

  private onFrame(ws: WebSocket, peer: NodeId, data: RawData, isBinary: boolean): void {
    if (this.closed || this.inbound.get(peer) !== ws) {
      this.counters.framesDropped++;
      return;
    }
    // Membership is checked at the handshake and again per frame: a peer removed since it linked
    // is heard no more, even before the owner gets to close its socket.
    if (!this.opts.isMember(peer)) {
      this.counters.framesDropped++;
      this.inbound.delete(peer);
      this.refuseSocket(ws, peer, CLOSE_POLICY, `${peer} is not a member of the cluster`);
      return;
    }
    if (!isBinary) {
      this.counters.framesDropped++;
      this.refuseSocket(ws, peer, CLOSE_INVALID_PAYLOAD, 'text frame on a raft peer link');
      return;
    }
    let messages: Message[];
    try {
      messages = decodeFrame(toBytes(data));
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      this.counters.framesDropped++;
      this.refuseSocket(ws, peer, CLOSE_INVALID_PAYLOAD, `malformed frame: ${err.message}`);
      return;
    }
    this.counters.framesReceived++;
    const accepted: Message[] = [];
    for (const m of messages) {
      if (m.from !== peer || m.to !== this.id) {
        this.counters.messagesDropped++;
        if (this.throttle.allow(`spoof:${peer}`)) {
          this.log.warn({ peer, from: m.from, to: m.to, type: m.type }, 'raft message with a foreign from/to dropped');
        }
        continue;
      }
      accepted.push(m);
    }
    this.counters.messagesReceived += accepted.length;
    if (accepted.length === 0) return;
    try {
      this.opts.onMessages(peer, accepted);
    } catch (err) {
      // The owner handles its own failures; an exception here must not tear down the ws receiver.
      this.log.error({ peer, err }, 'raft message handler threw');
    }
  }

  private refuseSocket(ws: WebSocket, peer: NodeId, code: number, reason: string): void {
    if (this.throttle.allow(`frame:${peer}`)) this.log.warn({ peer, reason }, 'raft peer link closed');
    ws.close(code, reason.slice(0, 120));
  }

  // -------------------------------------------------------------------------------------------

  stats(): TransportStats {
    const peers: Record<NodeId, PeerLinkStatus> = {};
    for (const [id, link] of this.links) {
      peers[id] = {
        address: link.peerAddress,
        connected: link.connected,
        queued: link.queued,
        inbound: this.inbound.has(id),
      };
    }
    return { ...this.counters, peers };
  }

  /** Closes every link and socket and stops serving upgrades. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const detach of this.detachers) detach();
    for (const link of this.links.values()) link.close();
    this.links.clear();
    for (const ws of this.inbound.values()) ws.terminate();
    this.inbound.clear();
    this.wss.close();
  }
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
