/**
 * One outbound link to one peer: a WebSocket this node dials and only sends on. Messages queued in
 * one event-loop turn leave as one frame (split only at the frame-size bound). The queue is bounded
 * and is dropped when the link fails: Raft retransmits what matters, and stale appends are worthless.
 * A failed link is redialed after an exponential backoff with jitter, capped below the election
 * timeout so a restarted peer is heard from again before anyone gives up on it.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import type { Message, NodeId } from '../core/types.js';
import { encodeMessageBody, FRAME_OVERHEAD_BYTES_MAX, frameFromBodies } from './codec.js';
import { signUpgrade } from './peer-auth.js';
import type { TransportCounters } from './transport-stats.js';

/**
 * TLS of outbound peer links: the CA that signs the peers' certificates (default: Node's trusted
 * roots), and this node's own certificate and key when the peers require mutual TLS. The peer's
 * certificate is always verified, its name or IP against the dialed address.
 */
export type PeerTlsOptions = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'servername'>;

/** Dial failures that are part of normal life (a peer restarting) rather than a misconfiguration. */
const ROUTINE_DIAL_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

export interface PeerLinkOptions {
  readonly self: NodeId;
  readonly peer: NodeId;
  readonly address: string;
  readonly path: string;
  readonly secret: Uint8Array;
  /** Dial `wss://` with the TLS options this returns (asked at every dial, so renewed files apply); else `ws://`. */
  readonly tls?: () => PeerTlsOptions;
  /** This node's own address, told to the peer so a node that is joining can answer us. */
  readonly advertiseAddress: string;
  readonly maxFrameBytes: number;
  readonly maxQueuedMessages: number;
  /** Bytes the socket may hold unsent before frames are dropped (a slow or stuck peer). */
  readonly maxBufferedBytes: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly handshakeTimeoutMs: number;
  /** A link that answers no ping within this interval is considered dead. */
  readonly pingIntervalMs: number;
  readonly counters: TransportCounters;
  readonly logger: Logger;
  /** A number in [0, 1), for jitter. */
  readonly random: () => number;
  /** The open link broke (the peer's process died, or the network cut it). */
  readonly onDown?: () => void;
}

export class PeerLink {
  private readonly opts: PeerLinkOptions;
  private readonly log: Logger;
  private address: string;
  private ws: WebSocket | null = null;
  private open = false;
  private closed = false;
  private queue: Message[] = [];
  private flushScheduled = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private pongPending = false;
  /** Consecutive failed dials; sets the backoff. */
  private failures = 0;
  /** The last dial failure logged as a warning; a persistent misconfiguration is logged once, not per dial. */
  private warnedError = '';

  constructor(options: PeerLinkOptions) {
    this.opts = options;
    this.address = options.address;
    this.log = options.logger.child({ peer: options.peer });
  }

  get connected(): boolean {
    return this.open;
  }

  get queued(): number {
    return this.queue.length;
  }

  get peerAddress(): string {
    return this.address;
  }

  /** Queues a message; false when it was dropped (full queue or closed link). */
  enqueue(message: Message): boolean {
    if (this.closed || this.queue.length >= this.opts.maxQueuedMessages) {
      this.opts.counters.messagesDropped++;
      return false;
    }
    this.queue.push(message);
    if (this.open) this.scheduleFlush();
    else if (this.ws === null && this.reconnectTimer === null) this.dial();
    return true;
  }

  /** Points the link at a new address; the current socket (to the old one) is dropped. */
  setAddress(address: string): void {
    if (address === this.address) return;
    this.address = address;
    this.failures = 0;
    if (this.ws !== null) this.ws.terminate();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropQueue();
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.stopPing();
    this.ws?.terminate();
    this.ws = null;
    this.open = false;
  }

  // -------------------------------------------------------------------------------------------

  private dial(): void {
    const { opts } = this;
    let ws: WebSocket;
    try {
      const tls = opts.tls?.();
      const url = `${tls ? 'wss' : 'ws'}://${this.address}${opts.path}`;
      ws = new WebSocket(url, {
        ...tls,
        headers: signUpgrade(opts.secret, opts.self, opts.peer, opts.advertiseAddress),
        handshakeTimeout: opts.handshakeTimeoutMs,
        maxPayload: opts.maxFrameBytes,
        perMessageDeflate: false,
        followRedirects: false,
      });
    } catch (err) {
      // Only a malformed address gets here; keep retrying in case the address book is corrected.
      this.log.error({ address: this.address, err }, 'cannot dial raft peer');
      this.dropQueue();
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    let lastError = '';
    let lastErrorCode = '';
    ws.on('open', () => {
      if (this.ws !== ws) return;
      this.open = true;
      this.failures = 0;
      this.warnedError = '';
      this.opts.counters.linksOpened++;
      this.log.debug({ address: this.address }, 'raft peer link up');
      this.startPing(ws);
      this.scheduleFlush();
    });
    ws.on('pong', () => {
      this.pongPending = false;
    });
    ws.on('error', (err: Error & { code?: string }) => {
      lastError = err.message;
      lastErrorCode = err.code ?? '';
    });
    ws.on('close', () => {
      if (this.ws !== ws) return;
      const wasOpen = this.open;
      this.ws = null;
      this.open = false;
      this.stopPing();
      this.dropQueue();
      if (this.closed) return;
      if (wasOpen) {
        this.log.info({ address: this.address, err: lastError || undefined }, 'raft peer link down');
        this.opts.onDown?.();
      } else this.dialFailed(lastError, lastErrorCode);
      this.scheduleReconnect();
    });
  }

  /**
   * A refused handshake (HTTP 401/403), an untrusted certificate or a TLS/plaintext mismatch will not
   * heal by redialing: warn once per distinct cause. A peer that is down is routine: debug.
   */
  private dialFailed(error: string, code: string): void {
    const fields = { address: this.address, err: error, code: code || undefined, failures: this.failures + 1 };
    if (ROUTINE_DIAL_ERRORS.has(code) || error === '' || error === this.warnedError) {
      this.log.debug(fields, 'raft peer dial failed');
      return;
    }
    this.warnedError = error;
    this.log.warn(fields, 'raft peer dial failed; retrying (check the cluster secret, TLS settings and membership)');
  }

  private scheduleReconnect(): void {
    const { reconnectBaseMs, reconnectMaxMs } = this.opts;
    const ceilingMs = Math.min(reconnectMaxMs, reconnectBaseMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    // "Equal jitter": at least half the ceiling, so peers do not all redial at once nor spin.
    const delayMs = ceilingMs / 2 + (ceilingMs / 2) * this.opts.random();
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      // Dial again only if there is something to say; otherwise the next enqueue dials.
      if (!this.closed && this.queue.length > 0 && this.ws === null) this.dial();
    }, delayMs);
    this.reconnectTimer.unref();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const ws = this.ws;
    if (!this.open || ws === null || this.queue.length === 0) return;
    const messages = this.queue;
    this.queue = [];
    if (ws.bufferedAmount > this.opts.maxBufferedBytes) {
      // The peer is not reading: better to lose these (Raft resends) than to grow without bound.
      this.opts.counters.messagesDropped += messages.length;
      this.log.warn({ bufferedBytes: ws.bufferedAmount, dropped: messages.length }, 'raft peer link congested');
      return;
    }
    const maxBodyBytes = this.opts.maxFrameBytes - FRAME_OVERHEAD_BYTES_MAX;
    let bodies: Uint8Array[] = [];
    let bytes = 0;
    for (const m of messages) {
      let body: Uint8Array;
      try {
        body = encodeMessageBody(m);
      } catch (err) {
        // A message the codec refuses is a bug upstream; losing it is safe, crashing the process is not.
        this.opts.counters.messagesDropped++;
        this.log.error({ type: m.type, err }, 'raft message cannot be encoded; dropped');
        continue;
      }
      if (body.byteLength > maxBodyBytes) {
        this.opts.counters.messagesDropped++;
        this.log.error(
          { type: m.type, bytes: body.byteLength, maxFrameBytes: this.opts.maxFrameBytes },
          'raft message exceeds the frame size bound',
        );
        continue;
      }
      if (bytes + body.byteLength > maxBodyBytes) {
        this.sendFrame(ws, bodies);
        bodies = [];
        bytes = 0;
      }
      bodies.push(body);
      bytes += body.byteLength;
    }
    if (bodies.length > 0) this.sendFrame(ws, bodies);
  }

  private sendFrame(ws: WebSocket, bodies: Uint8Array[]): void {
    ws.send(frameFromBodies(bodies), { binary: true });
    this.opts.counters.framesSent++;
    this.opts.counters.messagesSent += bodies.length;
  }

  private startPing(ws: WebSocket): void {
    this.pongPending = false;
    this.pingTimer = setInterval(() => {
      if (this.pongPending) {
        this.log.info({ address: this.address }, 'raft peer link unresponsive; reconnecting');
        ws.terminate();
        return;
      }
      this.pongPending = true;
      ws.ping();
    }, this.opts.pingIntervalMs);
    this.pingTimer.unref();
  }

  private stopPing(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private dropQueue(): void {
    this.opts.counters.messagesDropped += this.queue.length;
    this.queue = [];
  }
}
