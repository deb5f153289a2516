// Runs the app's Relay operations against a ledger, by doc_id only, with relay-runtime's own store:
// the account screen (two fragments), its next page through @connection, a PIX, and the account picker.
//
//   LEDGER_URL=http://127.0.0.1:8000/graphql LEDGER_KEY=ldg_... ACCOUNT_ID=... RECEIVER_ID=... \
//     RELAY_ARTIFACTS=src/__generated__ node run.js
//
// Prints one JSON object: what each step read from Relay's store, and the keys of every request sent.
"use strict";

const path = require("node:path");
const {
  Environment,
  Network,
  RecordSource,
  Store,
  commitMutation,
  createOperationDescriptor,
  fetchQuery,
  getRequest,
  getSelector,
} = require("relay-runtime");

const { LEDGER_URL, LEDGER_KEY, ACCOUNT_ID, RECEIVER_ID } = process.env;
const artifacts = path.resolve(process.env.RELAY_ARTIFACTS || path.join(__dirname, "src", "__generated__"));
const load = (name) => {
  const artifact = require(path.join(artifacts, `${name}.graphql.js`));
  return artifact.default || artifact; // relay-compiler 21 writes ES modules
};
const sent = [];

// Relay's convention for persisted documents: the artifact carries the hash (params.id), never the text.
async function fetchFn(params, variables) {
  if (!params.id || params.text) {
    throw new Error(`${params.name} was not compiled with persistConfig`);
  }
  const body = { doc_id: params.id, variables };
  sent.push({ operation: params.name, keys: Object.keys(body) });
  const response = await fetch(LEDGER_URL, {
    method: "POST",
    headers: { Authorization: `Bearer ${LEDGER_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (json.errors) {
    throw new Error(`${params.name}: HTTP ${response.status} ${JSON.stringify(json.errors)}`);
  }
  return json;
}

const environment = new Environment({ network: Network.create(fetchFn), store: new Store(new RecordSource()) });

async function query(name, variables) {
  const request = load(name);
  environment.retain(createOperationDescriptor(getRequest(request), variables)); // kept from the store's GC
  return fetchQuery(environment, request, variables).toPromise();
}

function read(fragment, ref) {
  return environment.lookup(getSelector(load(fragment), ref)).data;
}

function mutate(name, variables) {
  return new Promise((resolve, reject) => {
    commitMutation(environment, {
      mutation: load(name),
      variables,
      onCompleted: (response, errors) => (errors ? reject(new Error(JSON.stringify(errors))) : resolve(response)),
      onError: reject,
    });
  });
}

const names = (transactions) => transactions.edges.map((edge) => edge.node.amount);

async function main() {
  const screen = await query("AccountScreenQuery", { id: ACCOUNT_ID });
  const header = read("AccountHeader_account", screen.account);
  const firstPage = read("AccountTransactions_account", screen.account).transactions;
  const { endCursor, hasNextPage } = firstPage.pageInfo;
  await query("AccountTransactionsPaginationQuery", { id: ACCOUNT_ID, count: 2, cursor: endCursor });
  const merged = read("AccountTransactions_account", screen.account).transactions;
  const pix = await mutate("SendPixMutation", {
    input: { senderAccount: ACCOUNT_ID, receiverAccount: RECEIVER_ID, amount: "1.25", type: "PIX" },
  });
  const picker = await query("AccountsListQuery", { search: header.name });
  console.log(
    JSON.stringify({
      header,
      firstPage: { amounts: names(firstPage), hasNextPage, totalCount: firstPage.totalCount },
      afterNextPage: { amounts: names(merged), hasNextPage: merged.pageInfo.hasNextPage },
      pix: pix.createTransaction,
      picker: picker.accounts.edges.map((edge) => edge.node.name),
      sent,
    }),
  );
}

main().catch((error) => {
  console.error(error.stack || String(error), error.cause || "");
  process.exit(1);
});
