import { accessToken } from './auth-token.js';

/**
 * Every REST call of the UI goes through `api`: JSON in and out, the bearer token when signed in,
 * and refusals turned into ApiError carrying the server's stable `code` and its `message`. When the
 * server answers 401, the sign-in handler runs (once for all calls waiting) and the call is retried.
 */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }

  /** What the user reads: the code the server chose and its explanation. */
  describe(): string {
    return `${this.code}: ${this.message}`;
  }
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.describe();
  return err instanceof Error ? err.message : String(err);
}

const REQUEST_TIMEOUT_MS = 15_000;

/** Resolves true once the user has signed in (the call is then retried), false if they gave up. */
export type SignInHandler = (reason: string) => Promise<boolean>;
let signIn: SignInHandler | null = null;

export function onUnauthenticated(handler: SignInHandler): void {
  signIn = handler;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface CallOptions {
  /** Do not open the sign-in form on 401 (the sign-in call itself). */
  readonly noSignIn?: boolean;
}

export async function api<T>(method: Method, path: string, body?: unknown, options: CallOptions = {}): Promise<T> {
  try {
    return await send<T>(method, path, body);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401 || options.noSignIn || signIn === null) throw err;
    if (!(await signIn(err.message))) throw err;
    return send<T>(method, path, body);
  }
}

async function send<T>(method: Method, path: string, body: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = accessToken();
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      cache: 'no-store',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const why = err instanceof Error && err.name === 'TimeoutError' ? 'no answer in time' : 'network error';
    throw new ApiError(0, 'UNREACHABLE', `the server did not answer ${method} ${path} (${why})`);
  }
  const text = await res.text();
  let json: unknown = null;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!res.ok) {
    const e = isRecord(json) ? json : {};
    const code = typeof e['code'] === 'string' ? e['code'] : `HTTP_${res.status}`;
    const message = typeof e['message'] === 'string' ? e['message'] : `${method} ${path} answered ${res.status}`;
    throw new ApiError(res.status, code, message);
  }
  return json as T;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `a/b c` -> `a%2Fb%20c`, for each path segment. */
export function seg(part: string): string {
  return encodeURIComponent(part);
}

export function query(params: Readonly<Record<string, string | number | undefined>>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}
