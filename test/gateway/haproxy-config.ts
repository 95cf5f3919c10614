// The test's HAProxy configuration, derived from the one users start from (deploy/haproxy/haproxy.cfg)
// by a few exact substitutions, each of which must match: if the deploy file changes shape, this
// fails loudly instead of testing something else.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file runs from test/dist/gateway/. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEPLOY_HAPROXY_CFG = join(REPO_ROOT, 'deploy/haproxy/haproxy.cfg');
export const HAPROXY = process.env['HAPROXY'] ?? '/usr/sbin/haproxy';

export interface GatewayPorts {
  /** The all-zones frontend (8080 in the deploy file). */
  readonly http: number;
  /** The zone-local frontend (8081). */
  readonly local: number;
  /** The stats page (8404). */
  readonly stats: number;
}

/**
 * The deploy config on 127.0.0.1 ports, with HAProxy's own health checks and redispatch turned off so
 * that only the registry path (federation DNS answers) can take a server out, and request logs off
 * (server state changes, logged at notice and above, stay).
 */
export function gatewayConfig(ports: GatewayPorts): string {
  let cfg = readFileSync(DEPLOY_HAPROXY_CFG, 'utf8');
  const substitute = (from: string, to: string, count: number): void => {
    const found = cfg.split(from).length - 1;
    if (found !== count) {
      throw new Error(`${DEPLOY_HAPROXY_CFG}: expected '${from}' ${count} time(s), found ${found}; update the test`);
    }
    cfg = cfg.split(from).join(to);
  };
  substitute('bind :8080', `bind 127.0.0.1:${ports.http}`, 1);
  substitute('bind :8081', `bind 127.0.0.1:${ports.local}`, 1);
  substitute('bind :8404', `bind 127.0.0.1:${ports.stats}`, 1);
  substitute('  option redispatch 1\n', '  no option redispatch\n', 1);
  substitute(' check inter 2s rise 2 fall 2', '', 2);
  substitute('log stdout format raw local0 info', 'log stdout format raw local0 notice', 1);
  if (/\bcheck\b|option redispatch 1/.test(cfg.replace(/^\s*#.*$/gm, ''))) {
    throw new Error('the test config still has health checks or redispatch on');
  }
  return cfg;
}

/** `haproxy -c`: resolves with HAProxy's output when the file is valid, rejects with it when not. */
export function checkConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(HAPROXY, ['-c', '-f', file], { env, timeout: 10_000 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (err) reject(new Error(`haproxy -c -f ${file} failed: ${output}`));
      else resolve(output);
    });
  });
}
