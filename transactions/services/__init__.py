"""Every write that moves money: the one path, shared by the API, admin and commands.

One module per family of operations (``transfers``, ``deposits``, ``reversals``,
``captures``, ``cancellation``, ``settlement``, ``account_controls``), all re-exported here: callers import from
``transactions.services``. Each public function is one business operation and
one database transaction (retried on serialization failures and deadlocks,
``core.db``) that reads as an ordered list of checks, each raising its named
error, then one posting that ends in ``AccountBook.save`` (``transactions.posting``).
A refusal raises ``core.errors.LedgerError`` after its audit event is written
(``audit.services.refuse``); nothing else is written for it. Error ``field``
values are the public API's input names. Metrics and log lines are reported
around the operations (``telemetry``), not inside them.
"""

from transactions.models import MAX_DESCRIPTION, PENDING_TYPES, TRANSFER_TYPES
from transactions.services.account_controls import (
    LIMIT_PERMISSION,
    STATUS_PERMISSION,
    account_close,
    account_freeze,
    account_set_credit_limit,
    account_unfreeze,
)
from transactions.services.cancellation import transaction_cancel
from transactions.services.captures import transaction_capture
from transactions.services.common import MAX_BATCH
from transactions.services.deposits import CREATE_DEPOSIT, DEPOSIT_PERMISSION, check_deposit_permission, deposit_create
from transactions.services.reversals import transaction_reverse
from transactions.services.settlement import transactions_settle_due
from transactions.services.transfers import (
    CREATE_TRANSACTION,
    CREATE_TRANSACTIONS,
    TransferResult,
    TransferSpec,
    transfer_batch_create,
    transfer_create,
)

__all__ = [
    "CREATE_DEPOSIT",
    "CREATE_TRANSACTION",
    "CREATE_TRANSACTIONS",
    "DEPOSIT_PERMISSION",
    "LIMIT_PERMISSION",
    "MAX_BATCH",
    "MAX_DESCRIPTION",
    "PENDING_TYPES",
    "STATUS_PERMISSION",
    "TRANSFER_TYPES",
    "TransferResult",
    "TransferSpec",
    "account_close",
    "account_freeze",
    "account_set_credit_limit",
    "account_unfreeze",
    "check_deposit_permission",
    "deposit_create",
    "transaction_cancel",
    "transaction_capture",
    "transaction_reverse",
    "transactions_settle_due",
    "transfer_batch_create",
    "transfer_create",
]
