// Token expiry loses nothing: the README's Apollo recipe (a token source
// that refreshes once for everyone, and a link that resumes every
// subscription from its last cursor) against a server whose access tokens
// live a few seconds, with writes flowing the whole time. The socket is
// closed 4403 each time its token expires; graphql-ws reconnects with a
// fresh token and re-subscribes, and the feed carries on from the last
// event it delivered.
//
// Usage: node expiry.mjs http://127.0.0.1:PORT
// (start the server with FIELDSYNC_AUTH_ACCESS_TOKEN_TTL_SECS=3 or so).
//
// Loads the IN_PROGRESS tasks with their syncCursor, subscribes to
// `taskChanged(after:)` from it, changes those tasks' progress over HTTP
// for WRITE_SECONDS, then expects every version written to arrive exactly
// once, in order per task, across at least two expiries. Prints one line
// per check and `N passed, M failed` last; exits 1 when a check fails.

import { ApolloClient, ApolloLink, InMemoryCache, Observable, gql } from '@apollo/client/core/index.js';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { check, gqlHttp, run, server, sleep } from './harness.mjs';

const { httpUrl, wsUrl } = server('expiry.mjs');
const WRITE_SECONDS = 15;
const WRITE_EVERY_MS = 50;
const CATCH_UP_MS = 20_000;
const HARD_TIMEOUT_MS = 90_000;
const post = (query, variables, token) => gqlHttp(httpUrl, query, variables, token);

// ---------------------------------------------------------------------------
// The recipe, as README "Token expiry and reconnects" gives it.

// Access tokens for one signed-in user: the current one, or a new one when
// it is about to expire. One refresh at a time for every caller: a refresh
// token works once, and presenting a used one signs the user out.
function tokenSource(session, refresh) {
  let current = session;
  let refreshing = null;
  return async function freshAccessToken() {
    const left = Date.parse(current.accessTokenExpiresAt) - Date.now();
    if (left < 1_000) {
      refreshing ??= refresh(current.refreshToken)
        .then((next) => {
          current = next;
        })
        .finally(() => {
          refreshing = null;
        });
      await refreshing;
    }
    return current.accessToken;
  };
}

// GraphQLWsLink, plus resuming: graphql-ws re-sends a subscription's
// payload as it is after every reconnect (a 4403 for an expired token, a
// dropped network), so keeping its `after` at the cursor of the last event
// delivered makes the server replay exactly what was missed. For
// subscriptions that declare `$after` and select `cursor`.
class ResumingWsLink extends ApolloLink {
  constructor(client) {
    super();
    this.client = client;
  }

  request(operation) {
    const definition = operation.query.definitions.find((d) => d.kind === 'OperationDefinition');
    const resumes = definition?.variableDefinitions?.some((v) => v.variable.name.value === 'after');
    return new Observable((observer) => {
      const payload = {
        operationName: operation.operationName,
        query: print(operation.query),
        variables: { ...operation.variables },
        extensions: operation.extensions,
      };
      return this.client.subscribe(payload, {
        next: (result) => {
          const event = result.data && Object.values(result.data)[0];
          if (resumes && typeof event?.cursor === 'string') payload.variables.after = event.cursor;
          observer.next(result);
        },
        complete: () => observer.complete(),
        error: (err) => observer.error(err instanceof Error ? err : new Error(JSON.stringify(err))),
      });
    });
  }
}

// ---------------------------------------------------------------------------

const SESSION = 'accessToken accessTokenExpiresAt refreshToken';
const login = async (email) =>
  (await post(`mutation ($e: String!) { login(email: $e, password: "demo") { ${SESSION} } }`, { e: email })).login;
const refresh = async (token) =>
  (await post(`mutation ($t: String!) { refreshSession(refreshToken: $t) { ${SESSION} } }`, { t: token }))
    .refreshSession;

const TASK_CHANGED = gql`
  subscription TaskChanged($after: String) {
    taskChanged(after: $after) {
      cursor
      entityId
      version
      entity {
        ... on Task {
          id
          progress
        }
      }
    }
  }
`;

async function main() {
  console.log(`fieldsync token expiry at ${wsUrl}`);
  const freshAccessToken = tokenSource(await login('admin@demo.local'), refresh);

  const closes = [];
  const wsClient = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: async () => ({ authorization: `Bearer ${await freshAccessToken()}` }),
    retryAttempts: Infinity,
    on: { closed: (event) => closes.push(event.code) },
  });
  const apollo = new ApolloClient({ link: new ResumingWsLink(wsClient), cache: new InMemoryCache() });

  // The list, then the feed from exactly where it stands.
  const list = await post(
    '{ tasks(first: 100, filter: { status: [IN_PROGRESS] }) { syncCursor edges { node { id version } } } }',
    {},
    await freshAccessToken(),
  );
  const listed = new Map(list.tasks.edges.map(({ node }) => [node.id, node.version]));
  if (!check(listed.size > 0, 'IN_PROGRESS tasks to change', `${listed.size} listed`)) return;
  const received = new Map([...listed.keys()].map((id) => [id, []]));
  let failure = null;
  const subscription = apollo.subscribe({ query: TASK_CHANGED, variables: { after: list.tasks.syncCursor } }).subscribe({
    next: ({ data }) => received.get(data.taskChanged.entityId)?.push(data.taskChanged.version),
    error: (err) => {
      failure = err;
    },
  });

  // Writes flow while tokens expire.
  const ids = [...listed.keys()];
  const written = new Map(ids.map((id) => [id, []]));
  const writeErrors = [];
  const until = Date.now() + WRITE_SECONDS * 1000;
  for (let n = 0; Date.now() < until; n++) {
    const id = ids[n % ids.length];
    try {
      const data = await post(
        'mutation ($id: ID!, $p: Int!) { updateTaskProgress(id: $id, progress: $p) { outcome version } }',
        { id, p: (n % 98) + 1 },
        await freshAccessToken(),
      );
      written.get(id).push(data.updateTaskProgress.version);
    } catch (err) {
      writeErrors.push(err.message);
    }
    await sleep(WRITE_EVERY_MS);
  }
  const total = [...written.values()].reduce((sum, v) => sum + v.length, 0);
  check(writeErrors.length === 0, `${total} writes over ${WRITE_SECONDS} s, none refused`, writeErrors[0]);

  // Every version written arrives, once, in order.
  const complete = () => ids.every((id) => received.get(id).length >= written.get(id).length);
  const deadline = Date.now() + CATCH_UP_MS;
  while (!complete() && !failure && Date.now() < deadline) await sleep(100);
  subscription.unsubscribe();
  check(!failure, 'the subscription never errors', failure && String(failure.message ?? failure));
  const expiries = closes.filter((code) => code === 4403).length;
  check(expiries >= 2, 'the socket was closed for an expired token at least twice', `closes: [${closes}]`);
  let lost = 0;
  let duplicated = 0;
  let disordered = 0;
  for (const id of ids) {
    const got = received.get(id);
    const want = written.get(id);
    const seen = new Set(got);
    lost += want.filter((v) => !seen.has(v)).length;
    duplicated += got.length - seen.size;
    const expected = want.length ? Array.from({ length: want.at(-1) - listed.get(id) }, (_, i) => listed.get(id) + 1 + i) : [];
    if (JSON.stringify(got) !== JSON.stringify(expected)) disordered++;
  }
  check(lost === 0, 'no write is lost', `${lost} of ${total} never arrived`);
  check(duplicated === 0, 'no event is delivered twice', `${duplicated} duplicates`);
  check(disordered === 0, "each task's events follow its listed version one by one", `${disordered} tasks out of line`);
  await wsClient.dispose();
  apollo.stop();
}

await run(main, HARD_TIMEOUT_MS);
