// The account picker: a search over names and documents.
const { graphql } = require("relay-runtime");

module.exports = graphql`
  query AccountsListQuery($search: String) {
    accounts(first: 5, search: $search) {
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
