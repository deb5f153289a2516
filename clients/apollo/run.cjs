// Apollo Client with its persisted-queries link, in Node, against a ledger: the same query twice.
//
//   LEDGER_URL=http://127.0.0.1:8000/graphql LEDGER_KEY=ldg_... node run.cjs
//
// The link sends the SHA-256 alone first; told PERSISTED_QUERY_NOT_FOUND it sends hash and text once,
// then the hash alone again. Prints one JSON object: each request as sent (hash, text or not) with its
// status, and each query's outcome (data, or the error codes it ended with).
"use strict";

const { createHash } = require("node:crypto");
const { ApolloClient, HttpLink, InMemoryCache, gql } = require("@apollo/client/core");
const { createPersistedQueryLink } = require("@apollo/client/link/persisted-queries");

const { LEDGER_URL, LEDGER_KEY } = process.env;
const sent = [];

async function recordingFetch(uri, options) {
  const body = JSON.parse(options.body);
  const request = { hash: body.extensions?.persistedQuery?.sha256Hash ?? null, withText: "query" in body };
  sent.push(request);
  const response = await fetch(uri, options);
  request.status = response.status;
  return response;
}

const sha256 = (text) => createHash("sha256").update(text).digest("hex");
const link = createPersistedQueryLink({ sha256 }).concat(
  new HttpLink({ uri: LEDGER_URL, fetch: recordingFetch, headers: { Authorization: `Bearer ${LEDGER_KEY}` } }),
);
const client = new ApolloClient({ link, cache: new InMemoryCache() });

const ACCOUNTS = gql`
  query ApolloAccounts($first: Int) {
    accounts(first: $first) {
      totalCount
      edges {
        node {
          id
          name
        }
      }
    }
  }
`;

async function run() {
  try {
    const result = await client.query({ query: ACCOUNTS, variables: { first: 2 }, fetchPolicy: "network-only" });
    return { totalCount: result.data.accounts.totalCount };
  } catch (error) {
    const errors = [...(error.graphQLErrors || []), ...(error.networkError?.result?.errors || [])];
    return { errorCodes: errors.map((e) => e.extensions?.code), message: error.message };
  }
}

async function main() {
  const first = await run();
  const second = await run();
  console.log(JSON.stringify({ first, second, sent }));
}

main().catch((error) => {
  console.error(error.stack || String(error), error.cause || "");
  process.exit(1);
});
