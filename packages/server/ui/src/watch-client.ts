import type { ZoneStatus } from '../../src/federation/federated-view.js';
import type { WatchServerMessage } from '../../src/protocol/watch-messages.js';
import type { ServiceRef } from '../../src/protocol/wire-model.js';
import { watchSubprotocols } from './auth-token.js';
import { isRecord } from './http.js';

/**
 * The watch WebSocket (`/v1/watch`, packages/server/src/protocol/README.md) for the services a page
 * shows. It remembers the last revision it holds in full (a snapshot's last part, a delta, or a
 * progress message outside a snapshot) and, when the socket drops, reconnects with backoff and
 * resumes from that revision, so the page misses nothing and reloads nothing it already has.
 */

/** The federation's extra message: zone states and weights changed. */
export interface ZonesMessage {
  readonly type: 'zones';
  readonly revision: number;
  readonly zones: readonly ZoneStatus[];
}

export type WatchMessage = WatchServerMessage | ZonesMessage;

export type WatchState = 'connecting' | 'live' | 'offline';

export interface WatchHandlers {
  onMessage(message: WatchMessage): void;
  onState(state: WatchState, detail: string): void;
}

const RETRY_MS_MIN = 500;
const RETRY_MS_MAX = 10_000;
const KNOWN_TYPES = new Set([
  'hello',
  'subscribed',
  'snapshot',
  'delta',
  'progress',
  'resync',
  'unsubscribed',
  'error',
  'zones',
]);

export class WatchClient {
  private socket: WebSocket | null = null;
  private revision: number | null = null;
  private inSnapshot = false;
  private retryMs = RETRY_MS_MIN;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(
    private readonly sub: string,
    private readonly services: readonly ServiceRef[],
    private readonly handlers: WatchHandlers,
  ) {}

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.socket?.close(1000, 'page closed');
    this.socket = null;
  }

  private connect(): void {
    if (this.stopped) return;
    this.handlers.onState('connecting', this.revision === null ? 'connecting' : `resuming from ${this.revision}`);
    const url = new URL('/v1/watch', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let socket: WebSocket;
    try {
      socket = new WebSocket(url, watchSubprotocols());
    } catch (err) {
      this.retry(err instanceof Error ? err.message : 'cannot open the watch socket');
      return;
    }
    this.socket = socket;
    socket.addEventListener('open', () => {
      socket.send(
        JSON.stringify({
          type: 'subscribe',
          sub: this.sub,
          services: this.services,
          ...(this.revision !== null ? { fromRevision: this.revision } : {}),
        }),
      );
    });
    socket.addEventListener('message', (e) => {
      const message = parse(e.data);
      if (message === null) return;
      this.track(message);
      this.handlers.onMessage(message);
    });
    socket.addEventListener('close', (e) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.retry(e.reason || `socket closed (${e.code})`);
    });
  }

  private retry(reason: string): void {
    if (this.stopped) return;
    this.handlers.onState('offline', reason);
    const delayMs = this.retryMs;
    this.retryMs = Math.min(RETRY_MS_MAX, this.retryMs * 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delayMs);
  }

  private track(m: WatchMessage): void {
    switch (m.type) {
      case 'subscribed':
        this.inSnapshot = !m.resumed;
        this.retryMs = RETRY_MS_MIN;
        this.handlers.onState('live', m.resumed ? `resumed at ${m.revision}` : `subscribed at ${m.revision}`);
        break;
      case 'snapshot':
        if (m.last) {
          this.inSnapshot = false;
          this.revision = m.revision;
        }
        break;
      case 'delta':
        this.revision = m.revision;
        break;
      case 'progress':
        if (!this.inSnapshot && this.revision !== null) this.revision = Math.max(this.revision, m.revision);
        break;
      case 'resync':
        this.inSnapshot = true;
        break;
      default:
        break;
    }
  }
}

/** Messages are trusted to follow the protocol once their type is one we know; others are ignored. */
function parse(data: unknown): WatchMessage | null {
  if (typeof data !== 'string') return null;
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return null;
  }
  return isRecord(v) && typeof v['type'] === 'string' && KNOWN_TYPES.has(v['type'])
    ? (v as unknown as WatchMessage)
    : null;
}
