#!/usr/bin/env node
// The image's HEALTHCHECK: GET /healthz on the port the running cairn process listens on.
//
// One image runs both `cairn server` (default 0.0.0.0:8848) and `cairn federation` (default
// 0.0.0.0:8900), so the port is read from the command line of the container's main process
// (/proc/1/cmdline: `node .../main.js <command> [--listen host:port]`), else from CAIRN_LISTEN,
// else the command's default. With --tls-cert (or CAIRN_TLS_CERT) the port speaks HTTPS; the
// certificate is not verified (this only asks the local process whether it is alive). Settings given
// only in a --config file are not seen here; give them as flags or env vars. Exit 0 when healthy,
// 1 otherwise (Docker's contract).
//
// Usage: node healthcheck.mjs [cmdline-file]   (the file defaults to /proc/1/cmdline; NUL-separated)
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const DEFAULT_LISTEN = { server: '0.0.0.0:8848', federation: '0.0.0.0:8900' };
const TIMEOUT_MS = 2500;

function commandLine(file) {
  try {
    return readFileSync(file, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
  } catch {
    return [];
  }
}

function flag(args, name) {
  let value;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) value = args[i + 1];
    else if (args[i].startsWith(`--${name}=`)) value = args[i].slice(name.length + 3);
  }
  return value;
}

function urlOf(args) {
  const command = args.find((a) => a === 'server' || a === 'federation') ?? 'server';
  const listen = flag(args, 'listen') ?? process.env.CAIRN_LISTEN ?? DEFAULT_LISTEN[command];
  const tls = (flag(args, 'tls-cert') ?? process.env.CAIRN_TLS_CERT ?? '') !== '';
  const colon = listen.lastIndexOf(':');
  let host = listen.slice(0, colon);
  const port = listen.slice(colon + 1);
  // A wildcard listen address is reached on loopback from inside the container.
  if (host === '0.0.0.0' || host === '' || host === '[::]' || host === '::') host = '127.0.0.1';
  return `${tls ? 'https' : 'http'}://${host}:${port}/healthz`;
}

function get(url) {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { method: 'GET', timeout: TIMEOUT_MS, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

const url = urlOf(commandLine(process.argv[2] ?? '/proc/1/cmdline'));
try {
  const status = await get(url);
  if (status < 200 || status > 299) {
    process.stderr.write(`unhealthy: ${url} answered ${status}\n`);
    process.exit(1);
  }
  process.exit(0);
} catch (err) {
  process.stderr.write(`unhealthy: ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
