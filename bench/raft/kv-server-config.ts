import { parseArgs } from 'node:util';

export interface KvServerConfig {
  readonly id: string;
  readonly port: number;
  /** All voters including this one: id -> "host:port" of the replica's single HTTP port. */
  readonly peers: Record<string, string>;
  readonly dataDir: string;
  readonly clusterSecret: string;
  readonly snapshotEntries: number;
}

/**
 * Reads `--id n1 --port 7001 --peers n1=127.0.0.1:7001,n2=... --data-dir DIR [--snapshot-entries N]`,
 * each also settable as CAIRN_ID, CAIRN_PORT, CAIRN_PEERS, CAIRN_DATA_DIR, CAIRN_SNAPSHOT_ENTRIES.
 * The secret comes only from CAIRN_CLUSTER_SECRET, so that it does not show in the process list.
 */
export function parseKvServerConfig(argv: readonly string[], env: NodeJS.ProcessEnv): KvServerConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      id: { type: 'string', default: env.CAIRN_ID },
      port: { type: 'string', default: env.CAIRN_PORT },
      peers: { type: 'string', default: env.CAIRN_PEERS },
      'data-dir': { type: 'string', default: env.CAIRN_DATA_DIR },
      'snapshot-entries': { type: 'string', default: env.CAIRN_SNAPSHOT_ENTRIES ?? '10000' },
    },
    strict: true,
  });
  const id = required('--id', values.id);
  const port = Number(required('--port', values.port));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port: not a port: ${values.port}`);
  const peers = Object.fromEntries(
    required('--peers', values.peers)
      .split(',')
      .map((pair) => {
        const [peerId, address] = pair.split('=');
        if (!peerId || !address) throw new Error(`--peers: expected id=host:port, got ${pair}`);
        return [peerId, address];
      }),
  );
  if (peers[id] === undefined) throw new Error(`--peers must include this replica (${id})`);
  const snapshotEntries = Number(values['snapshot-entries']);
  if (!Number.isInteger(snapshotEntries) || snapshotEntries < 1) {
    throw new Error(`--snapshot-entries: not a positive integer: ${values['snapshot-entries']}`);
  }
  return {
    id,
    port,
    peers,
    dataDir: required('--data-dir', values['data-dir']),
    clusterSecret: required('CAIRN_CLUSTER_SECRET', env.CAIRN_CLUSTER_SECRET),
    snapshotEntries,
  };
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new Error(`kv-server: ${name} is required`);
  return value;
}
