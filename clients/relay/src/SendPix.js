// Sending a PIX: the one mutation of the app.
const { graphql } = require("relay-runtime");

module.exports = graphql`
  mutation SendPixMutation($input: CreateTransactionInput!) {
    createTransaction(input: $input) {
      transaction {
        id
        amount
        status
      }
      errors {
        code
        field
        message
      }
    }
  }
`;
