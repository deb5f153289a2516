// The account screen's query: the header and the first page of transactions, by fragment.
const { graphql } = require("relay-runtime");

module.exports = graphql`
  query AccountScreenQuery($id: ID!) {
    account(id: $id) {
      id
      ...AccountHeader_account
      ...AccountTransactions_account
    }
  }
`;
