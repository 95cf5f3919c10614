const zones = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] as const;

/**
 * A registry-shaped value of about 300 bytes: what cairn replicates when an instance registers.
 * Deterministic in `seq` so runs are comparable.
 */
export function instanceRecord(seq: number): Uint8Array {
  const record = {
    service: 'orders-api',
    instanceId: `orders-api-${(seq * 2654435761) >>> 0}`,
    ip: `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq & 255}`,
    port: 8080 + (seq % 16),
    weight: 100,
    healthy: true,
    enabled: true,
    ephemeral: true,
    zone: zones[seq % zones.length],
    cluster: 'default',
    metadata: {
      version: '2.14.3',
      protocol: 'http',
      region: 'eu-west-1',
      build: 'a1b2c3d4e5f6',
      team: 'checkout',
      startedAt: '2024-05-01T12:00:00.000Z',
    },
  };
  return Buffer.from(JSON.stringify(record));
}

/** A fixed set of values, built before measuring so that JSON work stays out of the load loop. */
export function instanceRecords(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, seq) => instanceRecord(seq));
}
