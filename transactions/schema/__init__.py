"""GraphQL for transactions and entries: types, queries, the Account's lists, and the money mutations.

Importing this package adds ``transactions``, ``entries`` and ``balanceAt`` to
the Account type (``transactions.schema.connections``).
"""

from transactions.schema.connections import transaction_ordering
from transactions.schema.mutations import (
    CancelTransaction,
    CreateDeposit,
    CreateTransaction,
    CreateTransactions,
    ReverseTransaction,
)
from transactions.schema.queries import TransactionQueries
from transactions.schema.types import EntryNode, TransactionNode

__all__ = [
    "CancelTransaction",
    "CreateDeposit",
    "CreateTransaction",
    "CreateTransactions",
    "EntryNode",
    "ReverseTransaction",
    "TransactionNode",
    "TransactionQueries",
    "transaction_ordering",
]
