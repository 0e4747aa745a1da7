// What the client test scripts share: the server's addresses from the
// command line, checks that print a line each, GraphQL over HTTP, and a
// run with a hard timeout that prints `N passed, M failed` and exits 1 on
// a failed check.

let passed = 0;
let failed = 0;

/// The server's `/graphql` and `/graphql/ws` from `node SCRIPT http://HOST:PORT`.
export function server(script) {
  const base = process.argv[2]?.replace(/\/+$/, '');
  if (!base || !/^https?:\/\//.test(base)) {
    console.error(`usage: node ${script} http://127.0.0.1:PORT`);
    process.exit(2);
  }
  return { httpUrl: `${base}/graphql`, wsUrl: `${base.replace(/^http/, 'ws')}/graphql/ws` };
}

export function check(ok, name, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` -- ${detail}` : ''}`);
  return ok;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/// A POST of `query` to `httpUrl`: its `data`, or an error with its `errors`.
export async function gqlHttp(httpUrl, query, variables, token) {
  const response = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/// Runs `main`, failing it past `timeoutMs`; prints the tally and exits.
export async function run(main, timeoutMs) {
  const summary = () => console.log(`${passed} passed, ${failed} failed`);
  const timer = setTimeout(() => {
    check(false, `finished within ${timeoutMs / 1000} s`, 'hard timeout');
    summary();
    process.exit(1);
  }, timeoutMs);
  try {
    await main();
  } catch (err) {
    check(false, 'script ran to the end', err?.stack ?? String(err));
  }
  clearTimeout(timer);
  summary();
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}
