// The top of an account screen: who, and how much.
const { graphql } = require("relay-runtime");

module.exports = graphql`
  fragment AccountHeader_account on Account {
    name
    document
    balance
    availableBalance
  }
`;
