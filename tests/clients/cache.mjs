// Apollo's normalised cache, kept current by a subscription with no glue
// beyond what README "Apollo's cache" documents (possibleTypes for the
// `VersionedEntity` union, and evict + gc on a tombstone): a screen's query
// of tasks, worker statuses and violations is updated in place by the
// `changes` events that follow it from its `syncCursor`, and a deleted task
// leaves the list.
//
// Usage: node cache.mjs http://127.0.0.1:PORT
// Prints one line per check and `N passed, M failed` last; exits 1 when a
// check fails.

import { ApolloClient, HttpLink, InMemoryCache, gql, split } from '@apollo/client/core/index.js';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions/index.js';
import { getMainDefinition } from '@apollo/client/utilities/index.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { check, gqlHttp, run, server, sleep } from './harness.mjs';

const { httpUrl, wsUrl } = server('cache.mjs');
const WAIT_MS = 10_000;
const post = (query, variables, token) => gqlHttp(httpUrl, query, variables, token);
const login = async (email) =>
  (await post('mutation ($e: String!) { login(email: $e, password: "demo") { accessToken } }', { e: email })).login
    .accessToken;

// --- README "Apollo's cache": the client, as documented. ---
const TYPENAME = {
  TASK: 'Task',
  WORKER_STATUS: 'WorkerStatus',
  VIOLATION: 'Violation',
  INSPECTION: 'Inspection',
  COMPLIANCE_ALERT: 'ComplianceAlert',
  BUILDING: 'Building',
  USER: 'User',
  TIME_ENTRY: 'TimeEntry',
  SYNC_CONFLICT: 'SyncConflict',
};

function makeClient(token) {
  const cache = new InMemoryCache({
    possibleTypes: { VersionedEntity: Object.values(TYPENAME) },
  });
  const ws = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` } });
  const link = split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new GraphQLWsLink(ws),
    new HttpLink({ uri: httpUrl, headers: { authorization: `Bearer ${token}` } }),
  );
  return { client: new ApolloClient({ link, cache }), ws };
}

// A tombstone: the entity left this user's view; drop it from the cache.
function forget(cache, { entityType, entityId }) {
  cache.evict({ id: cache.identify({ __typename: TYPENAME[entityType], id: entityId }) });
  cache.gc();
}

const BOARD = gql`
  query Board {
    tasks(first: 100) { syncCursor edges { node { id title progress status version } } }
    workerStatusList { nodes { id status version worker { id name } } }
    violations(first: 50) { edges { node { id severity status version } } }
  }
`;
const CHANGES = gql`
  subscription Changes($after: String) {
    changes(after: $after) {
      cursor
      entityType
      entityId
      tombstone
      entity {
        ... on Task { id progress status version }
        ... on WorkerStatus { id status version }
        ... on Violation { id severity status version }
      }
    }
  }
`;

async function main() {
  console.log(`fieldsync Apollo cache at ${httpUrl}`);
  const adminToken = await login('admin@demo.local');
  const workerToken = await login('worker1@demo.local');
  const { client, ws } = makeClient(adminToken);

  // The screen: a watched query, re-read from the cache on every change.
  let latest = null;
  const watch = client.watchQuery({ query: BOARD, fetchPolicy: 'cache-first' });
  const watching = watch.subscribe({ next: ({ data }) => (latest = data) });
  const first = (await client.query({ query: BOARD })).data;
  const feed = client.subscribe({ query: CHANGES, variables: { after: first.tasks.syncCursor } }).subscribe({
    next: ({ data }) => {
      if (data.changes.tombstone) forget(client.cache, data.changes);
    },
    error: (err) => check(false, 'the change feed stays open', String(err?.message ?? err)),
  });
  await sleep(300);

  const until = async (name, ok) => {
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline) {
      if (latest && ok(latest)) return check(true, name);
      await sleep(50);
    }
    return check(false, name, 'the screen never showed it');
  };

  // A task's progress, written by someone else.
  const task = first.tasks.edges.map((e) => e.node).find((t) => t.status === 'IN_PROGRESS');
  const progress = task.progress === 77 ? 78 : 77;
  await post('mutation ($id: ID!, $p: Int!) { updateTaskProgress(id: $id, progress: $p) { version } }', { id: task.id, p: progress }, adminToken);
  await until('a task on screen shows the new progress', (d) => d.tasks.edges.some((e) => e.node.id === task.id && e.node.progress === progress));

  // A worker goes on break: the status shown in the list changes, keyed by its id.
  const worker1 = (await post('{ me { id } }', {}, workerToken)).me.id;
  check(
    first.workerStatusList.nodes.some((s) => s.id === worker1 && s.status === 'ON_DUTY'),
    "worker1's status is on screen, keyed by the worker's id",
  );
  await post('mutation { setWorkerStatus(status: ON_BREAK) { version } }', {}, workerToken);
  await until("worker1's status on screen shows the break", (d) =>
    d.workerStatusList.nodes.some((s) => s.id === worker1 && s.status === 'ON_BREAK'),
  );

  // A violation's severity.
  const violation = first.violations.edges[0].node;
  const severity = violation.severity === 'CRITICAL' ? 'LOW' : 'CRITICAL';
  await post('mutation ($id: ID!, $s: ViolationSeverity!) { updateViolation(id: $id, patch: { severity: $s }) { version } }', { id: violation.id, s: severity }, adminToken);
  await until('a violation on screen shows the new severity', (d) => d.violations.edges.some((e) => e.node.id === violation.id && e.node.severity === severity));

  // A deleted task leaves the list (tombstone → evict + gc).
  const gone = first.tasks.edges.map((e) => e.node).find((t) => t.id !== task.id);
  await post('mutation ($id: ID!) { deleteTask(id: $id) { version } }', { id: gone.id }, adminToken);
  await until('a deleted task leaves the list on screen', (d) => !d.tasks.edges.some((e) => e.node.id === gone.id));
  check(
    latest.tasks.edges.length === first.tasks.edges.length - 1,
    'nothing else left the list',
    `${first.tasks.edges.length} → ${latest.tasks.edges.length}`,
  );

  feed.unsubscribe();
  watching.unsubscribe();
  await ws.dispose();
  client.stop();
}

await run(main, 60_000);
