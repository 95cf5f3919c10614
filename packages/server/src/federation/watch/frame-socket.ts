import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { ZodType } from 'zod';
import { toHttpError } from '../../api/error-handler.js';
import { CairnError } from '../../errors.js';
import { CLOSE_CODES } from '../../protocol/protocol-version.js';
import type { ErrorMessage } from '../../protocol/wire-model.js';

/** What a frame socket needs to know. */
export interface FrameSocketOptions {
  readonly frameBytesMax: number;
  readonly pingIntervalMs: number;
  readonly log: Logger;
  /** Counts refused frames (malformed, too large, binary). */
  readonly onBadFrame: () => void;
}

/** How long a socket may take to finish a close handshake before it is cut. */
const CLOSE_GRACE_MS = 5000;
const OPEN = 1;

/**
 * A push socket as the zone registry's are (api/watch/push-socket.ts, which is bound to a zone
 * replica): JSON text frames validated by a zod schema, a bad frame answered with an `error`
 * message (never a crash or a silent close), a bound on frame size (1009), ping/pong liveness
 * (4000), and an orderly close.
 */
export abstract class FrameSocket<M> {
  protected closed = false;
  /** Monotonic ms of the last frame or pong from the client. */
  protected lastHeardMs = performance.now();
  private lastPingMs = performance.now();
  private closeTimer: NodeJS.Timeout | null = null;

  constructor(
    protected readonly socket: WebSocket,
    private readonly frameOpts: FrameSocketOptions,
    private readonly schema: ZodType<M>,
  ) {
    capIncomingFrameBytes(socket, frameOpts.frameBytesMax);
    socket.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    socket.on('pong', () => this.heard());
    socket.on('close', () => this.finish());
    socket.on('error', () => this.finish());
  }

  /** Handles one valid message; throwing a CairnError answers the client with an `error` message. */
  protected abstract handle(message: M): void;

  /** Releases what the socket holds; called once, when it has closed (either side). */
  protected abstract release(): void;

  protected heard(): void {
    this.lastHeardMs = performance.now();
  }

  /** Periodic duties; returns false once the socket is closed. */
  tick(nowMs: number): boolean {
    if (this.closed) return false;
    const { pingIntervalMs } = this.frameOpts;
    if (nowMs - this.lastHeardMs > 2 * pingIntervalMs) {
      this.close(CLOSE_CODES.IDLE_TIMEOUT, 'no frame or pong from the client');
      return false;
    }
    if (nowMs - this.lastPingMs >= pingIntervalMs && this.socket.readyState === OPEN) {
      this.lastPingMs = nowMs;
      this.socket.ping();
    }
    return true;
  }

  /** Sends one already-encoded message; false when the socket can no longer take it. */
  protected sendRaw(json: string): boolean {
    if (this.closed || this.socket.readyState !== OPEN) return false;
    this.socket.send(json);
    return true;
  }

  protected send(message: object): boolean {
    return this.sendRaw(JSON.stringify(message));
  }

  protected sendError(err: unknown, sub?: string): void {
    const e = toHttpError(err);
    if (e.code === 'INTERNAL') this.frameOpts.log.error({ err }, 'federation watch: internal error');
    const msg: ErrorMessage = {
      type: 'error',
      ...e.toJSON(),
      fields: e.fields.length > 0 ? [...e.fields] : undefined,
      ...(sub === undefined ? {} : { sub }),
    };
    this.send(msg);
  }

  /** Starts an orderly close; the socket is cut if the client does not complete it in time. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    if (this.socket.readyState === OPEN) this.socket.close(code, reason.slice(0, 120));
    this.closeTimer = setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS);
    this.closeTimer.unref();
  }

  private finish(): void {
    if (this.closeTimer) clearTimeout(this.closeTimer);
    if (this.closed) return;
    this.closed = true;
    this.release();
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    this.heard();
    if (this.closed) return;
    const bytes = frameBytes(data);
    if (bytes > this.frameOpts.frameBytesMax) {
      this.frameOpts.onBadFrame();
      this.sendError(
        new CairnError('PAYLOAD_TOO_LARGE', `a ${bytes}-byte frame exceeds ${this.frameOpts.frameBytesMax} bytes`),
      );
      this.close(CLOSE_CODES.MESSAGE_TOO_BIG, 'frame too large');
      return;
    }
    if (isBinary) {
      this.frameOpts.onBadFrame();
      this.sendError(new CairnError('VALIDATION_FAILED', 'send JSON messages in text frames, not binary ones'));
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(textOf(data));
    } catch {
      this.frameOpts.onBadFrame();
      this.sendError(new CairnError('VALIDATION_FAILED', 'the frame is not valid JSON'));
      return;
    }
    const parsed = this.schema.safeParse(raw);
    if (!parsed.success) {
      this.frameOpts.onBadFrame();
      this.sendError(parsed.error, subOf(raw));
      return;
    }
    try {
      this.handle(parsed.data);
    } catch (err) {
      this.sendError(err, subOf(raw));
    }
  }
}

/**
 * ws applies one maxPayload per server (the federation's is shared with every WebSocket route);
 * lowering it on this socket makes ws refuse an oversized frame (1009) as soon as its header
 * announces the length. If ws's internals change, the size check in onFrame still holds.
 */
function capIncomingFrameBytes(socket: WebSocket, bytesMax: number): void {
  const receiver = (socket as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (receiver && typeof receiver._maxPayload === 'number') receiver._maxPayload = bytesMax;
}

function frameBytes(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function textOf(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return data instanceof ArrayBuffer ? Buffer.from(data).toString('utf8') : data.toString('utf8');
}

/** The subscription a malformed message meant, when it says so well enough to answer it. */
function subOf(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const sub = (raw as { sub?: unknown }).sub;
  return typeof sub === 'string' && sub.length <= 128 ? sub : undefined;
}
