import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../errors.js';

/**
 * Builds an OpenAPI 3.1 document from the same zod schemas the routes parse their input with, so the
 * contract, the validator and the documentation cannot drift apart. OpenAPI 3.1 schemas are JSON
 * Schema 2020-12, which is what `z.toJSONSchema` emits.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One operation, described by its zod schemas. */
export interface OperationDoc {
  readonly method: HttpMethod;
  /** A fastify path: `/v1/services/:namespace/:group/:service`. */
  readonly url: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  /** Object schemas; each property becomes one parameter. */
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** The JSON body of the success answer. */
  readonly response: z.ZodType;
  readonly successStatus: number;
  /** The refusals this operation can answer with (each is an `Error` body). */
  readonly errors: readonly ErrorCode[];
  /** Vendor extensions (`x-...`) copied onto the operation. */
  readonly extensions?: Readonly<Record<`x-${string}`, unknown>>;
}

export interface DocumentOptions {
  readonly title: string;
  readonly version: string;
  readonly description: string;
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  /** zod schemas emitted once under `components.schemas` and referenced wherever they appear. */
  readonly components: ReadonlyMap<z.ZodType, string>;
}

export type JsonSchema = Record<string, unknown>;

export interface OpenApiParameter {
  readonly name: string;
  readonly in: 'path' | 'query';
  readonly required: boolean;
  readonly description?: string;
  readonly schema: JsonSchema;
}

export interface OpenApiOperation {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly parameters: readonly OpenApiParameter[];
  readonly requestBody?: {
    readonly required: boolean;
    readonly content: { readonly 'application/json': { readonly schema: JsonSchema } };
  };
  readonly responses: Readonly<Record<string, OpenApiResponse>>;
  readonly [extension: `x-${string}`]: unknown;
}

export interface OpenApiResponse {
  readonly description: string;
  readonly content: { readonly 'application/json': { readonly schema: JsonSchema } };
}

export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Readonly<Record<string, Readonly<Partial<Record<Lowercase<HttpMethod>, OpenApiOperation>>>>>;
  readonly components: { readonly schemas: Readonly<Record<string, JsonSchema>> };
}

/** The body of every refusal (see errors.ts and error-handler.ts). */
export const errorBodySchema = z
  .object({
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).describe('stable; clients switch on it'),
    message: z.string().describe('for people: what went wrong and what to do'),
    fields: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('for VALIDATION_FAILED: each bad input field (dotted path) and what is wrong with it'),
  })
  .describe('A refusal: a stable code, a message a person can act on, and the bad fields when validation failed');

const ERROR_COMPONENT = 'Error';
const COMPONENT_REF = '#/components/schemas/';

export function buildOpenApiDocument(opts: DocumentOptions, operations: readonly OperationDoc[]): OpenApiDocument {
  const components = new Map<z.ZodType, string>(opts.components);
  components.set(errorBodySchema, ERROR_COMPONENT);
  const schemas: Record<string, JsonSchema> = {};
  for (const [schema, id] of components) schemas[id] = toSchema(schema, 'output', components);

  const paths: Record<string, Partial<Record<Lowercase<HttpMethod>, OpenApiOperation>>> = {};
  const seenIds = new Set<string>();
  for (const op of operations) {
    if (seenIds.has(op.operationId)) throw new Error(`openapi: duplicate operationId ${op.operationId}`);
    seenIds.add(op.operationId);
    const path = openApiPath(op.url);
    const item = paths[path] ?? {};
    paths[path] = item;
    const method = op.method.toLowerCase() as Lowercase<HttpMethod>;
    if (item[method]) throw new Error(`openapi: ${op.method} ${op.url} described twice`);
    item[method] = operationOf(op, components);
  }
  return {
    openapi: '3.1.0',
    info: { title: opts.title, version: opts.version, description: opts.description },
    tags: opts.tags,
    paths,
    components: { schemas },
  };
}

/** `/v1/services/:namespace` -> `/v1/services/{namespace}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function operationOf(op: OperationDoc, components: ReadonlyMap<z.ZodType, string>): OpenApiOperation {
  const parameters = [...parametersOf(op.params, 'path', components), ...parametersOf(op.query, 'query', components)];
  const responses: Record<string, OpenApiResponse> = {
    [String(op.successStatus)]: {
      description: 'success',
      content: { 'application/json': { schema: toSchema(op.response, 'output', components) } },
    },
  };
  for (const [status, codes] of errorsByStatus(op.errors)) {
    responses[String(status)] = {
      description: codes.join(' or '),
      content: { 'application/json': { schema: { $ref: COMPONENT_REF + ERROR_COMPONENT } } },
    };
  }
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    parameters,
    ...(op.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: toSchema(op.body, 'input', components) } },
          },
        }
      : {}),
    responses,
    ...op.extensions,
  };
}

function parametersOf(
  schema: z.ZodType | undefined,
  where: 'path' | 'query',
  components: ReadonlyMap<z.ZodType, string>,
): OpenApiParameter[] {
  if (!schema) return [];
  const json = toSchema(schema, 'input', components);
  const props = json['properties'] as Record<string, JsonSchema> | undefined;
  if (json['type'] !== 'object' || !props) throw new Error(`openapi: ${where} parameters must be an object schema`);
  const required = new Set((json['required'] as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

function errorsByStatus(codes: readonly ErrorCode[]): Map<number, ErrorCode[]> {
  const out = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CODES[code];
    const list = out.get(status) ?? [];
    if (!list.includes(code)) list.push(code);
    out.set(status, list);
  }
  return new Map([...out].sort((a, b) => a[0] - b[0]));
}

/** A JSON Schema for one side of a zod schema, with known components replaced by references. */
function toSchema(schema: z.ZodType, io: 'input' | 'output', components: ReadonlyMap<z.ZodType, string>): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
    override: (ctx) => {
      const id = components.get(ctx.zodSchema as unknown as z.ZodType);
      if (id === undefined || ctx.path.length === 0) return;
      const target = ctx.jsonSchema as Record<string, unknown>;
      for (const k of Object.keys(target)) delete target[k];
      target['$ref'] = COMPONENT_REF + id;
    },
  }) as JsonSchema;
  delete json['$schema'];
  return json;
}
