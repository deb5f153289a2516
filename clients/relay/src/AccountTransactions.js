// An account's transactions, a page at a time: Relay merges each page into one @connection.
const { graphql } = require("relay-runtime");

module.exports = graphql`
  fragment AccountTransactions_account on Account
  @refetchable(queryName: "AccountTransactionsPaginationQuery")
  @argumentDefinitions(count: { type: "Int", defaultValue: 2 }, cursor: { type: "String" }) {
    transactions(first: $count, after: $cursor) @connection(key: "AccountTransactions_transactions") {
      totalCount
      edges {
        node {
          id
          amount
          type
          status
        }
      }
    }
  }
`;
