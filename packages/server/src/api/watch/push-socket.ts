import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { ZodType } from 'zod';
import { CairnError } from '../../errors.js';
import { CLOSE_CODES } from '../../protocol/protocol-version.js';
import type { ErrorMessage } from '../../protocol/wire-model.js';
import { toHttpError } from '../error-handler.js';

/**
 * What a push socket needs of the endpoint serving it (a zone replica's push API, the federation's
 * watch): frame and liveness bounds, a counter of refused frames, a logger.
 */
export interface SocketContext {
  readonly limits: { readonly frameBytesMax: number; readonly pingIntervalMs: number };
  readonly stats: { badFrames: number };
  readonly log: Pick<FastifyBaseLogger, 'error'>;
}

/** Says which request an error answers. */
export interface Correlation {
  readonly sub?: string;
  readonly reqId?: number;
}

/** How long a socket may take to finish a close handshake before it is cut. */
const CLOSE_GRACE_MS = 5000;
const OPEN = 1;

/**
 * What the watch and session sockets have in common: JSON frames validated by a zod schema (a bad
 * frame is answered with an `error` message, never with a crash or a silent close), a bound on frame
 * size, ping/pong liveness, and an orderly close.
 */
export abstract class PushSocket<M, C extends SocketContext = SocketContext> {
  protected closed = false;
  /** Monotonic ms of the last frame or pong from the client. */
  protected lastHeardMs = performance.now();
  private lastPingMs = performance.now();
  private closeTimer: NodeJS.Timeout | null = null;

  constructor(
    protected readonly socket: WebSocket,
    protected readonly ctx: C,
    private readonly schema: ZodType<M>,
  ) {
    capIncomingFrameBytes(socket, ctx.limits.frameBytesMax);
    socket.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    socket.on('pong', () => this.heard());
    socket.on('close', () => this.finish());
  }

  /** Handles one valid message. Async work must answer its own failures. */
  protected abstract handle(message: M): void;

  /** Releases what the socket holds; called once, when it has closed (either side). */
  protected abstract release(): void;

  /** A frame (or pong) arrived. */
  protected heard(): void {
    this.lastHeardMs = performance.now();
  }

  /** Periodic duties; returns false once the socket is closed. */
  tick(nowMs: number): boolean {
    if (this.closed) return false;
    const { pingIntervalMs } = this.ctx.limits;
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

  protected sendError(err: unknown, corr: Correlation = {}): void {
    const e = toHttpError(err);
    if (e.code === 'INTERNAL') this.ctx.log.error({ err }, 'push socket: internal error');
    const msg: ErrorMessage = { type: 'error', ...e.toJSON(), fields: e.fields.length > 0 ? [...e.fields] : undefined };
    this.send({ ...msg, ...corr });
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

  /** The socket closed or failed: release what it holds (once). */
  protected finish(): void {
    if (this.closeTimer) clearTimeout(this.closeTimer);
    if (this.closed) return;
    this.closed = true;
    this.release();
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    this.heard();
    if (this.closed) return;
    const bytes = frameBytes(data);
    if (bytes > this.ctx.limits.frameBytesMax) {
      this.ctx.stats.badFrames++;
      this.sendError(
        new CairnError('PAYLOAD_TOO_LARGE', `a ${bytes}-byte frame exceeds ${this.ctx.limits.frameBytesMax} bytes`),
      );
      this.close(CLOSE_CODES.MESSAGE_TOO_BIG, 'frame too large');
      return;
    }
    if (isBinary) {
      this.ctx.stats.badFrames++;
      this.sendError(new CairnError('VALIDATION_FAILED', 'send JSON messages in text frames, not binary ones'));
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(textOf(data));
    } catch {
      this.ctx.stats.badFrames++;
      this.sendError(new CairnError('VALIDATION_FAILED', 'the frame is not valid JSON'));
      return;
    }
    const parsed = this.schema.safeParse(raw);
    if (!parsed.success) {
      this.ctx.stats.badFrames++;
      this.sendError(parsed.error, correlationOf(raw));
      return;
    }
    try {
      this.handle(parsed.data);
    } catch (err) {
      this.sendError(err, correlationOf(raw));
    }
  }
}

/**
 * ws applies one maxPayload per server, and the zone server's is shared with Raft peer links (large).
 * Lowering it on this client socket makes ws refuse an oversized frame (close 1009) as soon as its
 * header announces the length, instead of buffering it first. If ws's internals ever change, the
 * size check after receipt (in onFrame) still holds.
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

/** The request a malformed message meant, when it says so well enough to answer it. */
function correlationOf(raw: unknown): Correlation {
  if (typeof raw !== 'object' || raw === null) return {};
  const r = raw as { sub?: unknown; reqId?: unknown };
  return {
    ...(typeof r.sub === 'string' && r.sub.length <= 128 ? { sub: r.sub } : {}),
    ...(typeof r.reqId === 'number' && Number.isSafeInteger(r.reqId) ? { reqId: r.reqId } : {}),
  };
}
