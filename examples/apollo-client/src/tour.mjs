// Runs the client side of docs/CLIENTS.md against a live ledger, with Apollo Client 4:
// open accounts, transfer, page with fetchMore, read a statement, meet a business
// error and a top-level error. Exits 1 when the API stops fitting the client.
//
//   LEDGER_URL=http://127.0.0.1:8000 LEDGER_API_KEY=ldg_... node src/tour.mjs
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";

import { gql } from "@apollo/client";
import { visit } from "graphql";
import { filter, firstValueFrom } from "rxjs";
import { CombinedGraphQLErrors } from "@apollo/client/errors";

import { makeClient } from "./client.mjs";
import { toCents } from "./money.mjs";

const url = process.env.LEDGER_URL ?? "http://127.0.0.1:8000";
const key = process.env.LEDGER_API_KEY;
if (!key) {
  console.error("Set LEDGER_API_KEY (make run prints one).");
  process.exit(2);
}

const documents = gql(readFileSync(new URL("./operations.graphql", import.meta.url), "utf8"));
// One operation of operations.graphql with the fragments it spreads (GraphQL refuses unused ones).
function operation(name) {
  const chosen = documents.definitions.find((d) => d.kind === "OperationDefinition" && d.name.value === name);
  const spread = new Set();
  visit(chosen, { FragmentSpread: (node) => void spread.add(node.name.value) });
  const fragments = documents.definitions.filter((d) => d.kind === "FragmentDefinition" && spread.has(d.name.value));
  return { kind: "Document", definitions: [chosen, ...fragments] };
}

// A valid CPF that no earlier run used, so the tour can run again on the same database.
function freshCpf() {
  const digits = Array.from(randomUUID().replace(/\D/g, "").padEnd(9, "7").slice(0, 9), Number);
  for (const length of [9, 10]) {
    const sum = digits.slice(0, length).reduce((acc, d, i) => acc + d * (length + 1 - i), 0);
    digits.push(((sum * 10) % 11) % 10);
  }
  return digits.join("");
}

const client = makeClient({ url, key });
let passed = 0;
let failed = 0;
async function step(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name}\n${error?.stack ?? error}`);
  }
}

// A payload is done only when `errors` is empty; a transaction may also come back FAILED.
function payloadOf(result, field) {
  assert.equal(result.error, undefined, "no top-level error");
  return result.data[field];
}

const state = {};

await step("open two accounts; money comes back as strings", async () => {
  const open = async (name, balance) =>
    payloadOf(
      await client.mutate({
        mutation: operation("OpenAccount"),
        variables: { input: { name, document: freshCpf(), balance } },
      }),
      "createAccount",
    );
  const ana = await open("Ana Example", "1000.00");
  const bruno = await open("Bruno Example", undefined);
  assert.deepEqual(ana.errors, []);
  assert.deepEqual(bruno.errors, []);
  assert.equal(ana.account.balance, "1000.00");
  assert.equal(bruno.account.balance, "0.00");
  assert.equal(typeof ana.account.availableBalance, "string");
  Object.assign(state, { ana: ana.account, bruno: bruno.account });
});

async function transfer(amount, { idempotencyKey = randomUUID(), type = "PIX" } = {}) {
  const result = await client.mutate({
    mutation: operation("Transfer"),
    variables: {
      input: { senderAccount: state.ana.id, receiverAccount: state.bruno.id, amount, type, idempotencyKey },
    },
  });
  return payloadOf(result, "createTransaction");
}

await step("transfer three PIX; the cache updates the accounts by global ID", async () => {
  for (const amount of ["10.00", "20.00", "30.50"]) {
    const { transaction, errors } = await transfer(amount);
    assert.deepEqual(errors, []);
    assert.equal(transaction.status, "COMPLETED");
    assert.equal(transaction.amount, amount);
  }
  const cached = client.cache.readFragment({
    id: client.cache.identify({ __typename: "Account", id: state.ana.id }),
    fragment: gql`fragment CachedBalance on Account { balance }`,
  });
  assert.equal(cached.balance, "939.50");
  assert.equal(toCents(cached.balance), 93950n);
});

await step("retry with the same idempotency key: the same transaction, no second move", async () => {
  const idempotencyKey = randomUUID();
  const first = await transfer("1.00", { idempotencyKey });
  const again = await transfer("1.00", { idempotencyKey });
  assert.deepEqual(first.errors, []);
  assert.equal(again.transaction.id, first.transaction.id);
  assert.equal(again.transaction.sender.balance, "938.50");
});

await step("page through an account's transactions with fetchMore (oldest first)", async () => {
  const watched = client.watchQuery({
    query: operation("AccountTransactions"),
    variables: { id: state.ana.id, first: 2 },
  });
  // What a UI would render: each result the watched query emits (the cache merges the pages).
  const shown = (atLeast) =>
    firstValueFrom(watched.pipe(filter((result) => result.data?.account?.transactions.edges.length >= atLeast)));
  const subscription = watched.subscribe(() => {});
  try {
    const page = (await shown(1)).data.account.transactions;
    assert.equal(page.totalCount, 5);
    assert.equal(page.edges.length, 2);
    assert.equal(page.pageInfo.hasNextPage, true);
    await watched.fetchMore({ variables: { after: page.pageInfo.endCursor, first: 10 } });
    const merged = (await shown(5)).data.account.transactions;
    assert.deepEqual(
      merged.edges.map((edge) => [edge.node.type, edge.node.amount]),
      [["DEPOSIT", "1000.00"], ["PIX", "10.00"], ["PIX", "20.00"], ["PIX", "30.50"], ["PIX", "1.00"]],
    );
    assert.equal(merged.pageInfo.hasNextPage, false);
    const times = merged.edges.map((edge) => Date.parse(edge.node.createdAt));
    assert.deepEqual([...times].sort((a, b) => a - b), times);
  } finally {
    subscription.unsubscribe();
  }
});

await step("read the statement: running balances add up, in integer centavos", async () => {
  const { data } = await client.query({ query: operation("Statement"), variables: { id: state.ana.id, first: 50 } });
  const entries = data.account.entries.edges.map((edge) => edge.node);
  assert.deepEqual(entries.map((entry) => entry.sequence), [1, 2, 3, 4, 5]);
  let running = 0n;
  for (const entry of entries) {
    running += toCents(entry.amount);
    assert.equal(toCents(entry.balanceAfter), running);
  }
  assert.equal(data.account.balance, "938.50");
  assert.equal(entries[0].transaction.type, "DEPOSIT");
});

await step("a business error: INSUFFICIENT_FUNDS in the payload, the transaction recorded FAILED", async () => {
  const { transaction, errors } = await transfer("5000.00");
  assert.deepEqual(
    errors.map((error) => [error.code, error.field]),
    [["INSUFFICIENT_FUNDS", "amount"]],
  );
  assert.equal(transaction.status, "FAILED");
  assert.equal(transaction.failureReason, "INSUFFICIENT_FUNDS");
  assert.equal(transaction.sender.balance, "938.50");
});

await step("a top-level error: a page over 100 is BAD_USER_INPUT in extensions.code", async () => {
  await assert.rejects(client.query({ query: operation("TooLargePage") }), (error) => {
    assert.ok(CombinedGraphQLErrors.is(error), `expected CombinedGraphQLErrors, got ${error}`);
    assert.equal(error.errors[0].extensions.code, "BAD_USER_INPUT");
    assert.equal(error.errors[0].extensions.argument, "first");
    return true;
  });
});

await step("without a valid key: UNAUTHENTICATED, and nothing is read", async () => {
  const stranger = makeClient({ url, key: "ldg_not-a-key" });
  await assert.rejects(stranger.query({ query: operation("Statement"), variables: { id: state.ana.id } }), (error) => {
    assert.ok(CombinedGraphQLErrors.is(error), `expected CombinedGraphQLErrors, got ${error}`);
    assert.equal(error.errors[0].extensions.code, "UNAUTHENTICATED");
    return true;
  });
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
