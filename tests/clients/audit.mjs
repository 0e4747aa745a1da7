// Runs the official GraphQL-over-HTTP audit suite (npm `graphql-http`) against
// a running fieldsync server and prints one line per audit.
//
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
//
// Failing MUST audits are `error`s, SHOULD ones `warn`ings and MAY ones
// `notice`s. The last line is `N passed, M failed`, M counting only MUST
// failures. Exits 1 when a MUST audit fails or the suite cannot run.

import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://127.0.0.1:PORT/graphql');
  process.exit(2);
}

let results;
try {
  results = await auditServer({ url, fetchFn: fetch });
} catch (err) {
  // The suite throws only on fatal problems, e.g. the server is not reachable.
  console.error(`audit could not run against ${url}: ${err?.cause?.message ?? err}`);
  process.exit(1);
}

for (const r of results) {
  const why = r.status === 'ok' ? '' : ` -- ${r.reason} (got ${r.response.status})`;
  console.log(`${r.status.padEnd(6)} ${r.id} ${r.name}${why}`);
}

const count = (status) => results.filter((r) => r.status === status).length;
const [passed, failed, should, may] = ['ok', 'error', 'warn', 'notice'].map(count);
console.log(`${should + may} warnings (${should} SHOULD, ${may} MAY)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
