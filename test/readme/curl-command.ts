// A README `curl` command: what it asks for (method, URL, body), read from its arguments, and its real
// run with the status code appended to the output. Arguments this reader does not know are refused, so
// a README curl is never half-understood.
import { run } from './processes.js';

export interface CurlRequest {
  readonly method: string;
  readonly url: URL;
  readonly body: string | undefined;
}

export interface CurlAnswer {
  readonly status: number;
  readonly text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  readonly json: unknown;
}

const WITH_VALUE = new Set(['-H', '--header', '-d', '--data', '--data-raw', '--data-binary', '-X', '--request']);
const WITHOUT_VALUE = new Set(['-s', '--silent', '-S', '--show-error', '-f', '--fail', '-i', '-L', '-sS']);

/** `args` are curl's arguments (without `curl`). */
export function parseCurl(args: readonly string[]): CurlRequest {
  let method: string | undefined;
  let body: string | undefined;
  let url: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (/^-X[A-Z]+$/.test(a)) method = a.slice(2);
    else if (WITH_VALUE.has(a)) {
      const v = args[++i];
      if (v === undefined) throw new Error(`curl ${a} needs a value`);
      if (a === '-X' || a === '--request') method = v;
      if (a.startsWith('-d') || a.startsWith('--data')) body = v;
    } else if (WITHOUT_VALUE.has(a)) {
      // output options: no bearing on the request
    } else if (a.startsWith('-')) throw new Error(`the README test does not know curl's ${a}: teach parseCurl`);
    else if (url === undefined) url = a;
    else throw new Error(`curl with two URLs (${url}, ${a})`);
  }
  if (url === undefined) throw new Error('curl without a URL');
  return {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    url: new URL(/^https?:\/\//.test(url) ? url : `http://${url}`),
    body,
  };
}

/** Runs curl with `args` as written plus `-w` for the status code. */
export async function runCurl(args: readonly string[]): Promise<CurlAnswer> {
  const r = await run('curl', [...args, '--max-time', '10', '-w', '\n%{http_code}'], { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr}`);
  const cut = r.stdout.lastIndexOf('\n');
  const text = r.stdout.slice(0, cut);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: Number(r.stdout.slice(cut + 1)), text, json };
}
