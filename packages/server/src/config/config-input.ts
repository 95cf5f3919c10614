import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CairnError } from '../errors.js';

/** Inputs every cairn command's configuration shares: addresses and the `--config` JSON file. */

/** `host:port`, the host a name, an IPv4 address or a bracketed IPv6 address; port 0 asks for any. */
export const hostPortSchema = z
  .string()
  .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port')
  .refine((v) => {
    const port = Number(v.slice(v.lastIndexOf(':') + 1));
    return port >= 0 && port <= 65535;
  }, 'port must be 0-65535');

/** A validated `host:port` as a listen call takes it (IPv6 brackets removed). */
export function splitHostPort(hostPort: string): [string, number] {
  const i = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, i).replace(/^\[(.*)\]$/, '$1'), Number(hostPort.slice(i + 1))];
}

/**
 * Reads a `--config` file: a JSON object. With `knownKeys`, settings it does not know are refused
 * (naming them), so a misspelled key is not silently ignored.
 */
export function readConfigFile(file: string, knownKeys?: ReadonlySet<string>): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CairnError('VALIDATION_FAILED', `cannot read the config file ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CairnError('VALIDATION_FAILED', `the config file ${file} is not JSON: ${(err as Error).message}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new CairnError('VALIDATION_FAILED', `the config file ${file} must hold a JSON object`);
  }
  const unknown = knownKeys ? Object.keys(json).filter((k) => !knownKeys.has(k)) : [];
  if (unknown.length > 0 && knownKeys) {
    throw new CairnError(
      'VALIDATION_FAILED',
      `the config file ${file} has unknown settings: ${unknown.join(', ')}`,
      unknown.map((k) => ({ field: k, message: `unknown setting (known: ${[...knownKeys].join(', ')})` })),
    );
  }
  return json as Record<string, unknown>;
}
