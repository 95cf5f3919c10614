import { CairnError } from '../../errors.js';
import { ALL_NAMESPACES } from './access-control.js';
import { defineRoute, READ_ERRORS, readPoint, WRITE_ERRORS } from './native-route.js';
import {
  consistentQuery,
  namespaceAnswer,
  namespaceListAnswer,
  namespaceParams,
  namespacePutBody,
  revisionAnswer,
} from './native-schemas.js';

/** List, read, create and delete namespaces. */

const TAG = 'namespaces';
const READ = { resource: 'namespace', action: 'read', public: false } as const;
const ADMIN = { resource: 'namespace', action: 'admin', public: false } as const;
const NAMESPACE_URL = '/v1/namespaces/:namespace';

const listNamespaces = defineRoute({
  method: 'GET',
  url: '/v1/namespaces',
  operationId: 'listNamespaces',
  summary: 'List namespaces with their service counts',
  tag: TAG,
  query: consistentQuery,
  response: namespaceListAnswer,
  errors: READ_ERRORS,
  access: READ,
  namespaces: () => [ALL_NAMESPACES],
  async handler({ query }, { registry }) {
    await readPoint(registry, query.consistent);
    const state = registry.state;
    const counts = new Map<string, number>();
    for (const s of state.listServices()) counts.set(s.namespace, (counts.get(s.namespace) ?? 0) + 1);
    const namespaces = state.listNamespaces().map((ns) => ({ ...ns, services: counts.get(ns.id) ?? 0 }));
    return { revision: registry.revision, namespaces };
  },
});

const getNamespace = defineRoute({
  method: 'GET',
  url: NAMESPACE_URL,
  operationId: 'getNamespace',
  summary: 'Read a namespace',
  tag: TAG,
  params: namespaceParams,
  query: consistentQuery,
  response: namespaceAnswer,
  errors: [...READ_ERRORS, 'NOT_FOUND'],
  access: READ,
  namespaces: ({ params }) => [params.namespace],
  async handler({ params, query }, { registry }) {
    await readPoint(registry, query.consistent);
    const namespace = registry.state.listNamespaces().find((ns) => ns.id === params.namespace);
    if (!namespace) throw new CairnError('NOT_FOUND', `no namespace ${params.namespace}`);
    return { revision: registry.revision, namespace };
  },
});

const putNamespace = defineRoute({
  method: 'PUT',
  url: NAMESPACE_URL,
  operationId: 'putNamespace',
  summary: 'Create a namespace, or replace its name and description',
  description: 'Idempotent. Instances and services can only be registered into a namespace that exists.',
  tag: TAG,
  params: namespaceParams,
  body: namespacePutBody,
  response: namespaceAnswer,
  errors: WRITE_ERRORS,
  access: ADMIN,
  namespaces: ({ params }) => [params.namespace],
  async handler({ params, body }, { registry, quota }) {
    const namespace = { id: params.namespace, name: body.name ?? params.namespace, description: body.description };
    quota.admit({ op: 'namespace.put', namespace });
    const { revision } = await registry.execute({ op: 'namespace.put', namespace });
    return { revision, namespace };
  },
});

const deleteNamespace = defineRoute({
  method: 'DELETE',
  url: NAMESPACE_URL,
  operationId: 'deleteNamespace',
  summary: 'Delete a namespace',
  description: 'CONFLICT while it still holds services, and for the public namespace, which always stays.',
  tag: TAG,
  params: namespaceParams,
  response: revisionAnswer,
  errors: [...WRITE_ERRORS, 'NOT_FOUND', 'CONFLICT'],
  access: ADMIN,
  namespaces: ({ params }) => [params.namespace],
  async handler({ params }, { registry }) {
    const { revision } = await registry.execute({ op: 'namespace.delete', id: params.namespace });
    return { revision };
  },
});

export const NAMESPACE_ROUTES = [listNamespaces, getNamespace, putNamespace, deleteNamespace];
