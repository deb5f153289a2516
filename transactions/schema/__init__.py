"""GraphQL for transactions and entries: types, queries, the Account's lists, and the money mutations.

Importing this package adds ``transactions``, ``entries`` and ``balanceAt`` to
the Account type (``transactions.schema.connections``).
"""

from transactions.schema.account_controls import CloseAccount, FreezeAccount, SetCreditLimit, UnfreezeAccount
from transactions.schema.connections import transaction_ordering
from transactions.schema.mutations import (
    CancelTransaction,
    CaptureTransaction,
    CreateDeposit,
    CreateTransaction,
    CreateTransactions,
    ReverseTransaction,
)
from transactions.schema.queries import TransactionQueries
from transactions.schema.types import EntryNode, TransactionNode

__all__ = [
    "CancelTransaction",
    "CaptureTransaction",
    "CloseAccount",
    "CreateDeposit",
    "CreateTransaction",
    "CreateTransactions",
    "EntryNode",
    "FreezeAccount",
    "ReverseTransaction",
    "SetCreditLimit",
    "TransactionNode",
    "TransactionQueries",
    "UnfreezeAccount",
    "transaction_ordering",
]
