// The Apollo Client 4 configuration docs/CLIENTS.md recommends for the ledger API.
import { ApolloClient, HttpLink, InMemoryCache } from "@apollo/client";
import { relayStylePagination } from "@apollo/client/utilities";

// Every connection is a Relay connection with keyset cursors. keyArgs are the
// arguments that make a *different list* (filters, order); the paging arguments
// (first, after, last, before) are left out, so fetchMore appends to the same list.
export const typePolicies = {
  Query: {
    fields: {
      accounts: relayStylePagination(["search", "kind", "orderBy"]),
      transactions: relayStylePagination(["accountId", "status", "type", "createdAfter", "createdBefore", "orderBy"]),
    },
  },
  Account: {
    fields: {
      transactions: relayStylePagination(["direction", "status", "type", "orderBy"]),
      entries: relayStylePagination(["since", "until", "direction"]),
    },
  },
};

// `node` and `nodes` return the Node interface: tell the cache which types implement it.
export const possibleTypes = { Node: ["Account", "Transaction", "Entry"] };

export function makeClient({ url, key }) {
  return new ApolloClient({
    link: new HttpLink({ uri: `${url}/graphql`, headers: { Authorization: `Bearer ${key}` } }),
    // Global IDs are unique across types, so the default `${__typename}:${id}` normalisation is right.
    cache: new InMemoryCache({ typePolicies, possibleTypes }),
  });
}
