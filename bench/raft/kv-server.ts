/**
 * One replica of the bench's key-value store: a Map replicated by @cairn/raft, served by fastify on
 * 127.0.0.1, with the Raft peer links on the same port. A child process of run.ts; it exits when its
 * stdin closes, so it never outlives the orchestrator.
 *
 *   PUT /kv/:key   JSON body; proposes put(key, body) and answers once it is applied here.
 *   GET /status    the Raft node's status (role, leader, term, commit, applied, ...).
 */
import { createRaftNode, type RaftNode } from '@cairn/raft';
import Fastify, { type FastifyReply } from 'fastify';
import { pino } from 'pino';
import { encodePut } from './kv-command.js';
import { parseKvServerConfig } from './kv-server-config.js';
import { KvStateMachine } from './kv-state-machine.js';

/** Like etcd's request timeout: long enough to ride out one election. */
const proposeTimeoutMs = 5_000;
const bodyBytesMax = 64 * 1024;
const shutdownGraceMs = 2_000;

const config = parseKvServerConfig(process.argv.slice(2), process.env);
// Warn level unless asked (CAIRN_LOG_LEVEL=info shows snapshots): per-request logs would cost more than the work.
const logger = pino({ level: process.env.CAIRN_LOG_LEVEL ?? 'warn', base: { replica: config.id } });
const stateMachine = new KvStateMachine();
const node = await createRaftNode({
  id: config.id,
  peers: config.peers,
  dataDir: config.dataDir,
  clusterSecret: config.clusterSecret,
  stateMachine,
  // The same timing as the etcd members (100 ms heartbeat, 1 s election timeout).
  tickMs: 100,
  electionTicks: 10,
  heartbeatTicks: 1,
  snapshotEntries: config.snapshotEntries,
  logger,
});

// Request logs are at info level, below the logger's level: fastify checks the level and skips them.
const app = Fastify({ loggerInstance: logger, bodyLimit: bodyBytesMax });
// Values stay opaque bytes, as in etcd: parsing and re-serializing JSON is not what this bench measures.
app.removeContentTypeParser('application/json');
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
node.attachPeerServer(app.server);

app.put<{ Params: { key: string }; Body: Buffer }>('/kv/:key', async (request, reply) => {
  if (!Buffer.isBuffer(request.body) || request.body.length === 0) {
    return reply.code(400).send({ code: 'VALIDATION_FAILED', message: 'PUT /kv/:key wants a JSON body' });
  }
  try {
    const { index } = await node.propose(encodePut(request.params.key, request.body), { timeoutMs: proposeTimeoutMs });
    return { index };
  } catch (error) {
    return sendRaftError(reply, error);
  }
});

app.get('/status', async () => statusOf(node));

function statusOf(raftNode: RaftNode) {
  const { id, role, leader, term, commit, applied, lastIndex, snapshotIndex, pendingProposals, transport } =
    raftNode.status();
  return {
    id,
    role,
    leader,
    term,
    commit,
    applied,
    lastIndex,
    snapshotIndex,
    pendingProposals,
    keys: stateMachine.size,
    framesSent: transport.framesSent,
    messagesSent: transport.messagesSent,
    messagesDropped: transport.messagesDropped,
  };
}

const httpStatusByCode: Record<string, number> = {
  NO_LEADER: 503,
  NOT_LEADER: 503,
  PROPOSAL_DROPPED: 503,
  TRANSFER_IN_PROGRESS: 503,
  CLOSED: 503,
  TIMEOUT: 504,
};

function sendRaftError(reply: FastifyReply, error: unknown): FastifyReply {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  return reply.code(httpStatusByCode[code] ?? 500).send({ code, message });
}

let stopping = false;
async function shutdown(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.warn({ reason }, 'kv-server stopping');
  // Bounded: a stuck close must not keep a replica alive after the bench is done with it.
  setTimeout(() => process.exit(1), shutdownGraceMs).unref();
  // The node first: its peer sockets hang off the HTTP server and would hold app.close() open.
  await node.close().catch(() => {});
  await app.close().catch(() => {});
  process.exit(0);
}

node.on('fatal', (error) => {
  logger.error({ err: error }, 'raft node failed');
  process.exit(1);
});
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
process.stdin.once('end', () => void shutdown('parent gone'));
process.stdin.resume();

await app.listen({ host: '127.0.0.1', port: config.port });
