"""GraphQL for accounts: types, queries and the createAccount mutation (thin, over selectors and services)."""

from accounts.schema.mutations import CreateAccount, UpdateAccount
from accounts.schema.queries import AccountQueries
from accounts.schema.types import AccountConnection, AccountType

__all__ = ["AccountConnection", "AccountQueries", "AccountType", "CreateAccount", "UpdateAccount"]
