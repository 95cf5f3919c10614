import { z } from 'zod';
import {
  checkSchema,
  clusterNameSchema,
  DEFAULT_CLUSTER,
  DEFAULT_GROUP,
  DEFAULT_HEARTBEAT,
  DEFAULT_NAMESPACE,
  heartbeatSchema,
  ipSchema,
  LIMITS,
  metadataSchema,
  nameSchema,
} from '../../registry/model.js';

/**
 * The native API's contract: every request part is parsed with these schemas at the edge, and the
 * OpenAPI document is generated from the same schemas. Request bodies are strict (an unknown field is
 * refused, so a misspelt `enable` is not silently ignored); query strings tolerate unknown parameters
 * (caches and proxies add them).
 */

/** Bounds specific to the native API. */
export const NATIVE_LIMITS = {
  heartbeatBatchMax: 5000,
  pageSizeMax: 1000,
  pageNoMax: 100_000,
  clustersMax: 64,
  labelsMax: 32,
  /** Long-poll waits are capped so that a request never outlives proxies' idle timeouts. */
  waitMsMax: 60_000,
  waitMsDefault: 30_000,
  /** Bodies of single-object writes (the largest legal instance with full metadata is ~80 KiB). */
  writeBodyBytesMax: 256 * 1024,
  sessionIdLengthMax: 256,
} as const;

// -----------------------------------------------------------------------------------------------
// Query-string values
// -----------------------------------------------------------------------------------------------

/** `true`/`false` (or `1`/`0`) in a query string; `z.coerce.boolean` would take "false" as true. */
export const queryBool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .optional();

const UNIT_MS = { ms: 1, s: 1000, m: 60_000 } as const;

/** Parses `500ms`, `30s`, `1m` into milliseconds; undefined when it is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^(\d{1,7})(ms|s|m)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

export const waitDurationSchema = z
  .string()
  .max(16)
  .transform((v, ctx) => {
    const ms = parseDurationMs(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration like 500ms, 30s or 1m' });
      return z.NEVER;
    }
    if (ms > NATIVE_LIMITS.waitMsMax) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${NATIVE_LIMITS.waitMsMax / 1000}s` });
      return z.NEVER;
    }
    return ms;
  })
  .describe('how long to wait for a change: a duration like 500ms, 30s or 1m (at most 60s; default 30s)');

/** `a,b,c` in a query string, each item checked. */
function commaList<T extends z.ZodType<string, string>>(item: T, max: number) {
  return z
    .string()
    .max(max * 300)
    .transform((v) => v.split(',').filter((s) => s !== ''))
    .pipe(z.array(item).max(max, `at most ${max} items`));
}

const labelKeySchema = z.string().min(1).max(LIMITS.metadataKeyLengthMax);

/** `version:v2,region:x` -> { version: 'v2', region: 'x' }: instances must carry every label. */
export const labelSelectorSchema = z
  .string()
  .max(NATIVE_LIMITS.labelsMax * (LIMITS.metadataKeyLengthMax + LIMITS.metadataValueLengthMax + 2))
  .transform((v, ctx) => {
    const out: Record<string, string> = {};
    const pairs = v.split(',').filter((p) => p !== '');
    if (pairs.length > NATIVE_LIMITS.labelsMax) {
      ctx.addIssue({ code: 'custom', message: `at most ${NATIVE_LIMITS.labelsMax} labels` });
      return z.NEVER;
    }
    for (const pair of pairs) {
      const colon = pair.indexOf(':');
      const key = colon > 0 ? pair.slice(0, colon) : '';
      if (!labelKeySchema.safeParse(key).success || Object.hasOwn(out, key)) {
        ctx.addIssue({ code: 'custom', message: `label '${pair.slice(0, 64)}' must be key:value, each key once` });
        return z.NEVER;
      }
      out[key] = pair.slice(colon + 1);
    }
    return out;
  })
  .describe('metadata labels every returned instance must carry, as key:value pairs: version:v2,region:x');

// -----------------------------------------------------------------------------------------------
// Instances
// -----------------------------------------------------------------------------------------------

const portSchema = z.number().int().min(1).max(65_535);
const sessionIdSchema = z
  .string()
  .min(1)
  .max(NATIVE_LIMITS.sessionIdLengthMax)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'may contain letters, digits and _ . : - only');

/** What identifies an instance: namespace/group/service/cluster/ip/port. */
const instanceKeyShape = {
  namespace: nameSchema.default(DEFAULT_NAMESPACE).describe(`namespace (default ${DEFAULT_NAMESPACE})`),
  group: nameSchema.default(DEFAULT_GROUP).describe(`group (default ${DEFAULT_GROUP})`),
  service: nameSchema.describe('service name'),
  cluster: clusterNameSchema.default(DEFAULT_CLUSTER).describe(`cluster (default ${DEFAULT_CLUSTER})`),
  ip: ipSchema.describe('IPv4, IPv6 or host name'),
  port: portSchema,
};

export const instanceKeyBody = z.strictObject(instanceKeyShape);

/** The same key in a query string (GET and DELETE carry no body). */
export const instanceKeyQuery = z.object({ ...instanceKeyShape, port: z.coerce.number().int().min(1).max(65_535) });

export const instanceReadQuery = instanceKeyQuery.extend({
  consistent: queryBool.describe('read through the leader (ReadIndex) instead of this replica (true/false)'),
});

export const registerBody = z
  .strictObject({
    ...instanceKeyShape,
    weight: z.number().min(0).max(LIMITS.weightMax).default(100).describe('0-10000 (default 100)'),
    enabled: z.boolean().default(true).describe('false takes the instance out of traffic without removing it'),
    healthy: z.boolean().default(true),
    ephemeral: z
      .boolean()
      .default(true)
      .describe('ephemeral instances live under a lease; persistent ones are never removed by the registry'),
    metadata: metadataSchema.default({}),
    heartbeat: heartbeatSchema
      .default(DEFAULT_HEARTBEAT)
      .describe('how often the instance renews its lease, and when it turns unhealthy and expires without it'),
    check: checkSchema.nullable().default(null).describe('an active health check the registry runs (optional)'),
    sessionId: sessionIdSchema
      .optional()
      .describe('an SDK session to live under; without it an ephemeral instance holds its own lease'),
  })
  .superRefine((b, ctx) => {
    if (b.sessionId !== undefined && !b.ephemeral) {
      ctx.addIssue({ code: 'custom', path: ['sessionId'], message: 'only ephemeral instances live under a session' });
    }
  });
export type RegisterBody = z.output<typeof registerBody>;

export const updateBody = z
  .strictObject({
    ...instanceKeyShape,
    weight: z.number().min(0).max(LIMITS.weightMax).optional(),
    enabled: z.boolean().optional(),
    metadata: metadataSchema.optional().describe('replaces the whole metadata map'),
  })
  .refine((b) => b.weight !== undefined || b.enabled !== undefined || b.metadata !== undefined, {
    message: 'give at least one of weight, enabled, metadata',
  });

export const heartbeatBatchBody = z.strictObject({
  instances: z.array(instanceKeyBody).min(1).max(NATIVE_LIMITS.heartbeatBatchMax),
});

// -----------------------------------------------------------------------------------------------
// Services and namespaces
// -----------------------------------------------------------------------------------------------

export const serviceParams = z.object({
  namespace: nameSchema,
  group: nameSchema,
  service: nameSchema,
});

export const consistentQuery = z.object({
  consistent: queryBool.describe('read through the leader (ReadIndex) instead of this replica (true/false)'),
});

export const serviceReadQuery = z
  .object({
    consistent: queryBool.describe('read through the leader (ReadIndex) instead of this replica (true/false)'),
    healthyOnly: queryBool.describe('only healthy, enabled instances (true/false)'),
    clusters: commaList(clusterNameSchema, NATIVE_LIMITS.clustersMax)
      .optional()
      .describe('only these clusters, comma-separated'),
    labels: labelSelectorSchema.optional(),
    waitIndex: z.coerce
      .number()
      .int()
      .min(0)
      .optional()
      .describe('long-poll: answer once this service changes at a revision above this one (or when wait elapses)'),
    wait: waitDurationSchema.optional(),
  })
  .refine((q) => q.wait === undefined || q.waitIndex !== undefined, {
    path: ['wait'],
    message: 'wait needs waitIndex (the revision of your last answer)',
  });

export const serviceListQuery = z.object({
  namespace: nameSchema.default(DEFAULT_NAMESPACE).describe(`namespace (default ${DEFAULT_NAMESPACE})`),
  group: nameSchema.optional().describe('only this group'),
  name: z.string().min(1).max(LIMITS.nameLengthMax).optional().describe('only services whose name contains this text'),
  pageNo: z.coerce.number().int().min(1).max(NATIVE_LIMITS.pageNoMax).default(1),
  pageSize: z.coerce.number().int().min(1).max(NATIVE_LIMITS.pageSizeMax).default(100),
  consistent: queryBool.describe('read through the leader (ReadIndex) instead of this replica (true/false)'),
});

const protectThresholdSchema = z
  .number()
  .min(0)
  .max(1)
  .describe('when healthy/total <= this, every instance is returned as healthy (Nacos semantics)');

export const servicePutBody = z.strictObject({
  protectThreshold: protectThresholdSchema.default(0),
  metadata: metadataSchema.default({}),
});

export const servicePatchBody = z
  .strictObject({ protectThreshold: protectThresholdSchema.optional(), metadata: metadataSchema.optional() })
  .refine((b) => b.protectThreshold !== undefined || b.metadata !== undefined, {
    message: 'give at least one of protectThreshold, metadata',
  });

export const namespaceParams = z.object({ namespace: nameSchema });

export const namespacePutBody = z.strictObject({
  name: z.string().min(1).max(128).optional().describe('display name (default: the id)'),
  description: z.string().max(1024).default(''),
});

// -----------------------------------------------------------------------------------------------
// Answers (documentation and tests; handlers build them from the registry's own types)
// -----------------------------------------------------------------------------------------------

const revision = z.number().int().describe('the registry revision (Raft index) this answer reflects');
const metadataView = z.record(z.string(), z.string());

export const instanceView = z
  .object({
    id: z.string().describe('ip#port#cluster#group@@service'),
    namespace: z.string(),
    group: z.string(),
    service: z.string(),
    cluster: z.string(),
    ip: z.string(),
    port: z.number().int(),
    weight: z.number(),
    healthy: z.boolean(),
    enabled: z.boolean(),
    ephemeral: z.boolean(),
    zone: z.string().describe('the zone of the registry the instance registered in'),
    metadata: metadataView,
    heartbeat: z.object({ intervalMs: z.number(), unhealthyAfterMs: z.number(), expireAfterMs: z.number() }),
    lease: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('instance') }),
        z.object({ kind: z.literal('session'), sessionId: z.string() }),
      ])
      .nullable()
      .describe('who keeps the instance alive: its own heartbeats, an SDK session, or nobody (persistent)'),
    check: checkSchema.nullable(),
    registeredAt: z.number().describe('ms since the epoch'),
    updatedAt: z.number().describe('ms since the epoch'),
    revision: z.number().int().describe('revision of the last change to this instance'),
  })
  .describe('An instance of a service');

export const serviceView = z
  .object({
    namespace: z.string(),
    group: z.string(),
    service: z.string(),
    protectThreshold: z.number(),
    metadata: metadataView,
    createdAt: z.number().describe('ms since the epoch'),
    revision: z.number().int().describe('revision of the last change to the service settings'),
  })
  .describe("A service's settings");

const instanceCounts = z.object({ total: z.number().int(), healthy: z.number().int() });

export const serviceSummaryView = serviceView
  .extend({ instances: instanceCounts })
  .describe('A service with its instance counts');

export const namespaceView = z
  .object({ id: z.string(), name: z.string(), description: z.string() })
  .describe('A namespace');

const instanceKeyView = z.object({
  namespace: z.string(),
  group: z.string(),
  service: z.string(),
  cluster: z.string(),
  ip: z.string(),
  port: z.number().int(),
});

export const registerAnswer = z.object({
  revision,
  changed: z.boolean().describe('false when the same registration was already in place'),
  instance: instanceView,
});
export const instanceAnswer = z.object({ revision, instance: instanceView });
export const revisionAnswer = z.object({ revision });
export const heartbeatAnswer = z.object({
  revision,
  lease: z.enum(['instance', 'session', 'none']).describe('what keeps the instance alive'),
  heartbeatIntervalMs: z.number().int().describe('how often to send the next heartbeats'),
});
export const heartbeatBatchAnswer = z.object({
  revision,
  renewed: z.number().int(),
  unknown: z.array(instanceKeyView).describe('instances the registry does not hold: register them again'),
});
export const serviceListAnswer = z.object({
  revision,
  total: z.number().int().describe('services matching the filter, over all pages'),
  pageNo: z.number().int(),
  pageSize: z.number().int(),
  services: z.array(serviceSummaryView),
});
export const serviceAnswer = z.object({
  revision,
  service: serviceView,
  instances: z.array(instanceView),
  counts: instanceCounts.describe('instances matching the cluster and label filters, before healthyOnly'),
  protectThresholdReached: z
    .boolean()
    .describe('healthy/total fell to the protect threshold: every instance is returned as healthy'),
});
export const serviceWriteAnswer = z.object({ revision, service: serviceView });
export const namespaceListAnswer = z.object({
  revision,
  namespaces: z.array(namespaceView.extend({ services: z.number().int() })),
});
export const namespaceAnswer = z.object({ revision, namespace: namespaceView });

/** Schemas listed once under components.schemas in the OpenAPI document. */
export const NATIVE_COMPONENTS: ReadonlyMap<z.ZodType, string> = new Map<z.ZodType, string>([
  [instanceView, 'Instance'],
  [serviceView, 'Service'],
  [serviceSummaryView, 'ServiceSummary'],
  [namespaceView, 'Namespace'],
]);
