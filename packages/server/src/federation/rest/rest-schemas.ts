import { z } from 'zod';
import { ZONE_NAME } from '../config/zone-endpoints.js';

/** The federation REST API's inputs, parsed at the edge (VALIDATION_FAILED names each bad field). */

export const FEDERATION_REST_LIMITS = {
  /** Services one list answer holds at most (`limit`). */
  servicesPageMax: 10_000,
  servicesPageDefault: 1000,
  /** Largest request body forwarded to a zone. */
  forwardBodyBytesMax: 256 * 1024,
  /** How long a zone has to answer a forwarded request. */
  forwardTimeoutMs: 10_000,
  /** How long each replica has to answer `GET /v1/cluster` for the zone cluster route. */
  clusterProbeTimeoutMs: 1500,
} as const;

const name = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'may contain letters, digits and _ . : - only');

export const zoneParams = z.object({
  zone: z.string().regex(ZONE_NAME, 'lower-case letters, digits and -'),
});

export const serviceParams = z.object({ namespace: name, group: name, service: name });

export const zoneServiceParams = zoneParams.extend(serviceParams.shape);

export const servicesQuery = z.object({
  namespace: name.optional(),
  group: name.optional(),
  q: z.string().max(255).optional().describe('a substring of the service name (case-insensitive)'),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(FEDERATION_REST_LIMITS.servicesPageMax)
    .default(FEDERATION_REST_LIMITS.servicesPageDefault),
});
