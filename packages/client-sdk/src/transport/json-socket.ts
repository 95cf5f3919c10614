import { type Dispatcher, request, WebSocket } from 'undici';
import { CairnSdkError } from '../errors.js';

/** The events of one WebSocket, as JSON text frames. */
export interface SocketEvents {
  message(text: string): void;
  close(code: number, reason: string): void;
}

/**
 * A WebSocket (undici's) carrying JSON text frames. `open` resolves once connected, or rejects
 * after `timeoutMs`; after that, exactly one `close` event reports the end, whoever ended it.
 */
export class JsonSocket {
  private closedReported = false;
  private lastHeardMs = 0;

  private constructor(
    private readonly ws: WebSocket,
    readonly url: string,
  ) {}

  static open(
    url: string,
    opts: {
      timeoutMs: number;
      headers?: Record<string, string>;
      dispatcher?: Dispatcher | undefined;
      now: () => number;
    },
    events: SocketEvents,
  ): Promise<JsonSocket> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url, {
          ...(opts.headers ? { headers: opts.headers } : {}),
          ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
        });
      } catch (err) {
        reject(err);
        return;
      }
      const socket = new JsonSocket(ws, url);
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        ws.close();
        reject(new Error(`no WebSocket connection to ${url} within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      timer.unref();
      ws.addEventListener('open', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.lastHeardMs = opts.now();
        resolve(socket);
      });
      ws.addEventListener('message', (ev) => {
        socket.lastHeardMs = opts.now();
        if (typeof ev.data === 'string') events.message(ev.data);
      });
      ws.addEventListener('close', (ev) => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          const failure = new Error(`WebSocket to ${url} closed before opening (${ev.code} ${ev.reason})`);
          void refusalOf(url, opts).then((refusal) => reject(refusal ?? failure));
          return;
        }
        socket.reportClose(ev.code, ev.reason, events);
      });
      ws.addEventListener('error', () => {
        // A close event always follows; it carries the outcome.
      });
    });
  }

  /** When a frame last arrived (ms on the clock given to open). */
  get heardAtMs(): number {
    return this.lastHeardMs;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(message: object): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  close(code = 1000, reason = ''): void {
    if (this.ws.readyState === WebSocket.CLOSED || this.ws.readyState === WebSocket.CLOSING) return;
    this.ws.close(code, reason);
  }

  private reportClose(code: number, reason: string, events: SocketEvents): void {
    if (this.closedReported) return;
    this.closedReported = true;
    events.close(code, reason);
  }
}

/** Whether an error is the registry refusing the credentials (401) or the role (403): retrying will not help. */
export function isAuthRefusal(err: unknown): err is CairnSdkError {
  return (
    err instanceof CairnSdkError &&
    err.code === 'REGISTRY_REFUSED' &&
    (err.registryCode === 'UNAUTHENTICATED' || err.registryCode === 'FORBIDDEN')
  );
}

/**
 * A WebSocket client is not told why an upgrade was refused; the same request over plain HTTP is.
 * Returns the registry's 401 or 403 as a CairnSdkError, or null for anything else.
 */
async function refusalOf(
  url: string,
  opts: { timeoutMs: number; headers?: Record<string, string>; dispatcher?: Dispatcher },
): Promise<CairnSdkError | null> {
  try {
    const res = await request(url.replace(/^ws/, 'http'), {
      method: 'GET',
      ...(opts.headers ? { headers: opts.headers } : {}),
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    const text = (await res.body.text()).slice(0, 1024);
    if (res.statusCode !== 401 && res.statusCode !== 403) return null;
    let code = res.statusCode === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN';
    let message = text;
    try {
      const body = JSON.parse(text) as { code?: unknown; message?: unknown };
      if (typeof body.code === 'string') code = body.code;
      if (typeof body.message === 'string') message = body.message;
    } catch {
      // not JSON: keep the text
    }
    const hint =
      code === 'FORBIDDEN'
        ? 'the token lacks the role this needs'
        : 'give connect({ token }) or set CAIRN_TOKEN, with a token the registry accepts';
    return new CairnSdkError('REGISTRY_REFUSED', `the registry refused the connection (${code}: ${message}): ${hint}`, {
      registryCode: code,
    });
  } catch {
    return null;
  }
}
