import WebSocket from 'ws';

export interface WireInstance {
  readonly ip: string;
  readonly port: number;
  readonly healthy: boolean;
}

interface WatchMessage {
  readonly type: string;
  readonly last?: boolean;
  readonly changes?: readonly { kind: string; action?: string; instance?: WireInstance }[];
  readonly code?: string;
  readonly message?: string;
}

/** One /v1/watch socket subscribed to one service; calls `onInstance` for every instance put it receives. */
export class ServiceWatcher {
  #socket: WebSocket | undefined;
  #closed = false;

  constructor(
    private readonly origin: string,
    private readonly service: string,
    private readonly onInstance: (instance: WireInstance, atMs: number) => void,
  ) {}

  /** Resolves once the first snapshot is complete. */
  open(timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${this.origin.replace(/^http/, 'ws')}/v1/watch`, { perMessageDeflate: false });
      this.#socket = socket;
      const timer = setTimeout(
        () => fail(new Error(`watch at ${this.origin}: no snapshot in ${timeoutMs} ms`)),
        timeoutMs,
      );
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.terminate();
        reject(error);
      };
      socket.once('error', fail);
      socket.once('unexpected-response', (_request, response) =>
        fail(new Error(`watch upgrade at ${this.origin}: HTTP ${response.statusCode}`)),
      );
      socket.once('close', (code) => fail(new Error(`watch at ${this.origin} closed (${code})`)));
      socket.once('open', () => {
        socket.send(JSON.stringify({ type: 'subscribe', sub: 's', services: [{ service: this.service }] }));
      });
      socket.on('message', (data: Buffer) => {
        const atMs = performance.now();
        const message = JSON.parse(data.toString('utf8')) as WatchMessage;
        if (message.type === 'snapshot' && message.last && !settled) {
          settled = true;
          clearTimeout(timer);
          resolve();
        } else if (message.type === 'delta') {
          for (const change of message.changes ?? []) {
            if (change.kind === 'instance' && change.action === 'put' && change.instance)
              this.onInstance(change.instance, atMs);
          }
        } else if (message.type === 'error') {
          fail(new Error(`watch at ${this.origin}: ${message.code} ${message.message}`));
        }
      });
      socket.on('close', (code) => {
        if (!this.#closed && settled) process.stderr.write(`watch socket at ${this.origin} closed (${code})\n`);
      });
    });
  }

  close(): void {
    this.#closed = true;
    this.#socket?.terminate();
  }
}
