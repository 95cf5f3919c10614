import { Pool } from 'undici';

/** One undici Pool per replica origin; requests are spread over them round-robin. */
export class ReplicaPools {
  readonly #pools: Map<string, Pool>;

  constructor(origins: readonly string[], connectionsPerOrigin: number) {
    this.#pools = new Map(
      origins.map((origin) => [
        origin,
        new Pool(origin, { connections: connectionsPerOrigin, pipelining: 1, keepAliveTimeout: 60_000 }),
      ]),
    );
  }

  pool(origin: string): Pool {
    const pool = this.#pools.get(origin);
    if (pool === undefined) throw new Error(`no pool for ${origin}`);
    return pool;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.destroy()));
  }
}

export interface JsonAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** Sends a JSON request; answers status and parsed body (non-JSON bodies are dropped). */
export async function sendJson(
  pool: Pool,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<JsonAnswer> {
  const response = await pool.request({
    method,
    path,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const text = await response.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.statusCode, body: parsed };
}

export async function expectOk(answer: Promise<JsonAnswer>, what: string): Promise<unknown> {
  const { status, body } = await answer;
  if (status < 200 || status >= 300) throw new Error(`${what}: HTTP ${status} ${JSON.stringify(body).slice(0, 300)}`);
  return body;
}
