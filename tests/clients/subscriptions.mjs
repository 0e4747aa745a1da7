// Real-time subscriptions through the libraries apps use, against a running
// fieldsync server: @apollo/client with GraphQLWsLink (graphql-ws, the
// `graphql-transport-ws` subprotocol) and Apollo's legacy WebSocketLink over
// subscriptions-transport-ws (the `graphql-ws` subprotocol), both on
// `/graphql/ws` and authenticated through the `connection_init` payload.
//
// Usage: node subscriptions.mjs http://127.0.0.1:PORT
//
// Logs in as the demo admin over HTTP, subscribes to `taskChanged` with both
// clients, changes an IN_PROGRESS task's progress over HTTP and expects both
// clients to see that change; then expects a worker subscribing to
// `workerLocationUpdated` to get a FORBIDDEN GraphQL error. Prints one line
// per check and `N passed, M failed` last; exits 1 when a check fails.

import { ApolloClient, InMemoryCache, gql } from '@apollo/client/core/index.js';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions/index.js';
import { WebSocketLink } from '@apollo/client/link/ws/index.js';
import { createClient } from 'graphql-ws';
import { SubscriptionClient } from 'subscriptions-transport-ws';
import WebSocket from 'ws';

const base = process.argv[2]?.replace(/\/+$/, '');
if (!base || !/^https?:\/\//.test(base)) {
  console.error('usage: node subscriptions.mjs http://127.0.0.1:PORT');
  process.exit(2);
}
const httpUrl = `${base}/graphql`;
const wsUrl = `${base.replace(/^http/, 'ws')}/graphql/ws`;

const HARD_TIMEOUT_MS = 30_000;
const EVENT_TIMEOUT_MS = 10_000;
const SETTLE_MS = 500;

let passed = 0;
let failed = 0;
function check(ok, name, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` -- ${detail}` : ''}`);
  return ok;
}

// Everything that must be closed for the process to exit.
const closers = [];
async function closeAll() {
  for (const close of closers.splice(0).reverse()) {
    try {
      await close();
    } catch {
      // Closing is best effort.
    }
  }
}
let finished = false;
async function finish() {
  if (finished) return;
  finished = true;
  // Closing must not hold the process: give it two seconds at most.
  await within(2_000, closeAll(), 'closing the clients').catch((err) => console.log(`     (${err.message})`));
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

const hardTimeout = setTimeout(() => {
  check(false, `finished within ${HARD_TIMEOUT_MS / 1000} s`, 'hard timeout');
  finish();
}, HARD_TIMEOUT_MS);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with `value` or rejects with `what timed out` after `ms`. */
function within(ms, promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** One GraphQL request over HTTP; throws on transport or GraphQL errors. */
async function gqlHttp(query, variables = {}, token) {
  const headers = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
  };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(httpUrl, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (body.errors?.length) {
    throw new Error(`HTTP ${res.status}: ${JSON.stringify(body.errors)}`);
  }
  return body.data;
}

async function login(email) {
  const data = await gqlHttp(
    'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
    { email, password: 'demo' },
  );
  return data.login.accessToken;
}

/** Collects a subscription's results and lets callers wait for a matching one. */
function collector() {
  const results = [];
  const waiters = [];
  let error = null;
  return {
    results,
    get failure() {
      return error;
    },
    next(value) {
      results.push(value);
      for (const w of waiters) if (!w.done && w.match(value)) ((w.done = true), w.resolve(value));
    },
    fail(err) {
      error = err;
      for (const w of waiters) if (!w.done) ((w.done = true), w.reject(err));
    },
    waitFor(match) {
      const hit = results.find(match);
      if (hit) return Promise.resolve(hit);
      if (error) return Promise.reject(error);
      return new Promise((resolve, reject) => waiters.push({ match, resolve, reject, done: false }));
    },
  };
}

const errorText = (err) =>
  err?.graphQLErrors?.length
    ? JSON.stringify(err.graphQLErrors)
    : err?.message ?? (err?.code !== undefined ? `close ${err.code} ${err.reason}` : JSON.stringify(err));

/** An Apollo client over graphql-ws (`graphql-transport-ws`). */
function graphqlWsApollo(token, label) {
  let connected;
  const connectedP = new Promise((resolve) => (connected = resolve));
  const wsClient = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    shouldRetry: () => false,
    on: {
      connected: () => connected(),
      closed: (event) => {
        if (!finished && event?.code !== 1000) console.log(`     (${label}: socket closed ${event?.code} ${event?.reason ?? ''})`);
      },
    },
  });
  closers.push(() => wsClient.dispose());
  const client = new ApolloClient({
    link: new GraphQLWsLink(wsClient),
    cache: new InMemoryCache({
      possibleTypes: {
        VersionedEntity: ['Task', 'TimeEntry', 'WorkerStatus', 'User', 'Building', 'Violation', 'Inspection', 'ComplianceAlert', 'SyncConflict'],
      },
    }),
  });
  closers.push(() => client.stop());
  return { client, connected: connectedP };
}

/** An Apollo client over the legacy subscriptions-transport-ws (`graphql-ws`). */
function legacyApollo(token) {
  let settle;
  const connectedP = new Promise((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
  const subClient = new SubscriptionClient(
    wsUrl,
    {
      reconnect: false,
      lazy: false,
      connectionParams: { authorization: `Bearer ${token}` },
      connectionCallback: (err) => settle(err ? new Error(`connection_error: ${JSON.stringify(err)}`) : undefined),
    },
    WebSocket,
  );
  subClient.onError((event) => settle(new Error(`socket error: ${event?.message ?? event}`)));
  closers.push(() => subClient.close(true));
  const client = new ApolloClient({
    link: new WebSocketLink(subClient),
    cache: new InMemoryCache({
      possibleTypes: {
        VersionedEntity: ['Task', 'TimeEntry', 'WorkerStatus', 'User', 'Building', 'Violation', 'Inspection', 'ComplianceAlert', 'SyncConflict'],
      },
    }),
  });
  closers.push(() => client.stop());
  return { client, connected: connectedP };
}

function subscribe(client, query, sink, variables = {}) {
  const sub = client.subscribe({ query, variables }).subscribe({
    next: (value) => sink.next(value),
    error: (err) => sink.fail(err),
  });
  closers.push(() => sub.unsubscribe());
  return sub;
}

const TASK_CHANGED = gql`
  subscription TaskChanged($after: String) {
    taskChanged(after: $after) {
      cursor
      entityId
      op
      version
      changedFields
      snapshot
      entity {
        ... on Task {
          id
          progress
        }
      }
    }
  }
`;

const WORKER_LOCATION_UPDATED = gql`
  subscription WorkerLocationUpdated {
    workerLocationUpdated {
      cursor
      entityId
    }
  }
`;

async function main() {
  console.log(`fieldsync subscriptions at ${wsUrl}`);

  // --- HTTP: a token and a task to change. ---
  let adminToken;
  try {
    adminToken = await login('admin@demo.local');
    check(typeof adminToken === 'string' && adminToken.length > 0, 'admin logs in over HTTP');
  } catch (err) {
    check(false, 'admin logs in over HTTP', err.message);
    return;
  }
  let task;
  try {
    const data = await gqlHttp(
      '{ tasks(first: 1, filter: { status: [IN_PROGRESS] }) { edges { node { id progress version } } } }',
      {},
      adminToken,
    );
    task = data.tasks.edges[0]?.node;
    if (!check(Boolean(task?.id), 'an IN_PROGRESS task to change', task ? `task ${task.id}` : 'none found')) return;
  } catch (err) {
    check(false, 'an IN_PROGRESS task to change', err.message);
    return;
  }

  // --- Both clients subscribe to taskChanged as the admin, `after` the
  // newest change, so the feed starts there however long it takes to open. ---
  let after = null;
  for (;;) {
    const page = await gqlHttp('query ($after: String) { syncPull(after: $after, limit: 1000) { cursor hasMore } }', { after }, adminToken);
    after = page.syncPull.cursor;
    if (!page.syncPull.hasMore) break;
  }
  const modern = graphqlWsApollo(adminToken, 'graphql-ws');
  const modernEvents = collector();
  subscribe(modern.client, TASK_CHANGED, modernEvents, { after });
  const legacy = legacyApollo(adminToken);
  const legacyEvents = collector();
  subscribe(legacy.client, TASK_CHANGED, legacyEvents, { after });

  const [modernUp, legacyUp] = await Promise.allSettled([
    within(EVENT_TIMEOUT_MS, modern.connected, 'connection_ack'),
    within(EVENT_TIMEOUT_MS, legacy.connected, 'connection_ack'),
  ]);
  check(modernUp.status === 'fulfilled', 'graphql-ws (GraphQLWsLink) connection acknowledged', modernUp.reason?.message);
  check(legacyUp.status === 'fulfilled', 'subscriptions-transport-ws (WebSocketLink) connection acknowledged', legacyUp.reason?.message);
  await sleep(SETTLE_MS);
  for (const [name, events] of [['graphql-ws', modernEvents], ['subscriptions-transport-ws', legacyEvents]]) {
    if (events.failure) check(false, `${name} taskChanged subscription is live`, errorText(events.failure));
  }

  // --- Change the task's progress over HTTP. ---
  let progress;
  do progress = 1 + Math.floor(Math.random() * 99);
  while (progress === task.progress);
  let write;
  try {
    const data = await gqlHttp(
      `mutation ($id: ID!, $progress: Int!) {
        updateTaskProgress(id: $id, progress: $progress) { outcome version snapshot }
      }`,
      { id: task.id, progress },
      adminToken,
    );
    write = data.updateTaskProgress;
    check(
      write.outcome === 'APPLIED' && write.snapshot?.progress === progress,
      `updateTaskProgress(${task.id}, ${progress}) over HTTP`,
      `outcome ${write.outcome}, version ${write.version}, progress ${write.snapshot?.progress}`,
    );
  } catch (err) {
    check(false, `updateTaskProgress(${task.id}, ${progress}) over HTTP`, err.message);
  }

  // --- Both clients see it. ---
  const isOurs = (result) => {
    const e = result?.data?.taskChanged;
    return e?.entityId === task.id && e?.entity?.progress === progress;
  };
  const seen = await Promise.allSettled(
    [modernEvents, legacyEvents].map((events) => within(EVENT_TIMEOUT_MS, events.waitFor(isOurs), 'taskChanged')),
  );
  for (const [i, name] of ['graphql-ws (GraphQLWsLink)', 'subscriptions-transport-ws (WebSocketLink)'].entries()) {
    const events = i === 0 ? modernEvents : legacyEvents;
    const got = seen[i];
    if (got.status === 'fulfilled') {
      const e = got.value.data.taskChanged;
      const agrees = e.snapshot?.progress === progress && (write === undefined || e.version === write.version);
      check(
        agrees,
        `${name} receives the change of task ${task.id} to progress ${progress}`,
        `op ${e.op}, version ${e.version}, changedFields [${e.changedFields}], snapshot.progress ${e.snapshot?.progress}`,
      );
    } else {
      const others = events.results.map((r) => JSON.stringify(r.data?.taskChanged ?? r)).join('; ');
      check(
        false,
        `${name} receives the change of task ${task.id} to progress ${progress}`,
        `${errorText(got.reason)}${others ? `; received instead: ${others}` : ''}`,
      );
    }
  }

  // --- A worker may not follow locations: FORBIDDEN. ---
  let workerToken;
  try {
    workerToken = await login('worker1@demo.local');
  } catch (err) {
    check(false, 'worker1 logs in over HTTP', err.message);
    return;
  }
  const worker = graphqlWsApollo(workerToken, 'graphql-ws worker');
  const workerEvents = collector();
  subscribe(worker.client, WORKER_LOCATION_UPDATED, workerEvents);
  const name = 'graphql-ws (GraphQLWsLink) workerLocationUpdated as a worker is FORBIDDEN';
  try {
    const result = await within(EVENT_TIMEOUT_MS, workerEvents.waitFor(() => true), 'workerLocationUpdated');
    // errorPolicy `none` turns GraphQL errors into an error, so data here is a leak.
    check(false, name, `got data: ${JSON.stringify(result)}`);
  } catch (err) {
    const codes = (err?.graphQLErrors ?? []).map((e) => e?.extensions?.code);
    check(codes.includes('FORBIDDEN'), name, `error: ${errorText(err)}`);
  }
}

try {
  await main();
} catch (err) {
  check(false, 'script ran to the end', err?.stack ?? String(err));
}
clearTimeout(hardTimeout);
await finish();
