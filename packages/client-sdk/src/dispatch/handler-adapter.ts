import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;
type Headers = Record<string, string | string[] | undefined>;

/**
 * The handler a caller gave, seen through undici's current handler interface (`onRequestStart`,
 * `onResponseStart`, ...). `request()` and Node's built-in fetch still pass handlers of the older
 * interface (`onConnect`, `onHeaders`, ...); those are adapted here, as undici's own WrapHandler does.
 */
export function modernHandler(handler: Handler): Handler {
  return handler.onRequestStart ? handler : new LegacyHandler(handler);
}

class LegacyHandler implements Handler {
  constructor(private readonly h: Handler) {}

  onRequestStart(controller: Controller, context: unknown): void {
    (this.h.onConnect as ((abort: (err?: Error) => void, ctx: unknown) => void) | undefined)?.(
      (reason?: Error) => controller.abort(reason ?? new Error('aborted')),
      context,
    );
  }

  onRequestUpgrade(_c: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    this.h.onUpgrade?.(statusCode, rawHeaders(headers), socket);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    this.h.onResponseStarted?.();
    const keepGoing = this.h.onHeaders?.(
      statusCode,
      rawHeaders(headers),
      () => controller.resume(),
      statusMessage ?? '',
    );
    if (keepGoing === false) controller.pause();
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.h.onData?.(chunk) === false) controller.pause();
  }

  onResponseEnd(_c: Controller, trailers: Headers): void {
    this.h.onComplete?.(rawHeaders(trailers) as unknown as string[]);
  }

  onResponseError(_c: Controller, err: Error): void {
    if (!this.h.onError) throw err;
    this.h.onError(err);
  }
}

function rawHeaders(headers: Headers | null | undefined): Buffer[] {
  const out: Buffer[] = [];
  if (!headers) return out;
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value])
      out.push(Buffer.from(key, 'latin1'), Buffer.from(v, 'latin1'));
  }
  return out;
}
