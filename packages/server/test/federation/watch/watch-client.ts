// A WebSocket client for watch tests: records every message (parsed and raw) and lets a test wait
// for the next one matching a predicate.
import WebSocket from 'ws';

// biome-ignore lint/suspicious/noExplicitAny: test messages are read field by field
export type Msg = Record<string, any>;

/** A snapshot's parts put together. */
export interface MergedSnapshot {
  revision: number;
  parts: number;
  instances: Msg[];
  services: Msg[];
  namespaces: Msg[];
  zoneWeights: Msg[];
}

export class WatchClient {
  readonly messages: Msg[] = [];
  readonly raw: string[] = [];
  /** Index of the first message not yet taken by next(). */
  private cursor = 0;
  private waiters: (() => void)[] = [];
  closeCode: number | null = null;
  private readonly closedPromise: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      this.raw.push(text);
      this.messages.push(JSON.parse(text) as Msg);
      this.wakeAll();
    });
    this.closedPromise = new Promise((resolve) => {
      ws.on('close', (code) => {
        this.closeCode = code;
        this.wakeAll();
        resolve(code);
      });
    });
  }

  static open(url: string): Promise<WatchClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url}/v1/watch`);
      const client = new WatchClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next message (after the last one taken) that matches; skips the ones before it. */
  async next(match: (m: Msg) => boolean, timeoutMs = 5000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.messages.length; i++) {
        const m = this.messages[i]!;
        if (match(m)) {
          this.cursor = i + 1;
          return m;
        }
      }
      if (this.closeCode !== null) throw new Error(`socket closed (${this.closeCode}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message in ${timeoutMs} ms; got ${JSON.stringify(this.tail())}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  nextOfType(type: string, timeoutMs?: number): Promise<Msg> {
    return this.next((m) => m.type === type, timeoutMs);
  }

  /** Every snapshot part of `sub` from the next part 0 through `last`, merged. */
  async snapshot(sub: string): Promise<MergedSnapshot> {
    const first = await this.next((m) => m.type === 'snapshot' && m.sub === sub && m.part === 0);
    const out: MergedSnapshot = {
      revision: first.revision as number,
      parts: 1,
      instances: [...first.instances] as Msg[],
      services: [...first.services] as Msg[],
      namespaces: [...first.namespaces] as Msg[],
      zoneWeights: [...first.zoneWeights] as Msg[],
    };
    let m = first;
    while (!m.last) {
      m = await this.next((x) => x.type === 'snapshot' && x.sub === sub);
      if (m.part !== out.parts) throw new Error(`snapshot part ${m.part} after ${out.parts - 1}`);
      if (m.revision !== out.revision) throw new Error('snapshot parts of different revisions');
      out.parts++;
      out.instances.push(...m.instances);
      out.services.push(...m.services);
      out.namespaces.push(...m.namespaces);
      out.zoneWeights.push(...m.zoneWeights);
    }
    return out;
  }

  /** Messages received and not yet taken by next(). */
  pending(): Msg[] {
    return this.messages.slice(this.cursor);
  }

  closed(): Promise<number> {
    return this.closedPromise;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }

  private tail(): Msg[] {
    return this.messages.slice(-3);
  }

  private wakeAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
