"""The one error vocabulary of the ledger.

Services raise ``LedgerError``; the GraphQL layer turns it into a payload
``LedgerError`` object in one place, the admin and the commands print it. The
codes are the ``LedgerErrorCode`` enum of the public contract.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    """Why a mutation refused (a payload error's code): what happened, and what the client should do."""

    INVALID_INPUT = "INVALID_INPUT"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    INVALID_DOCUMENT = "INVALID_DOCUMENT"
    DUPLICATE_DOCUMENT = "DUPLICATE_DOCUMENT"
    ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND"
    TRANSACTION_NOT_FOUND = "TRANSACTION_NOT_FOUND"
    SAME_ACCOUNT = "SAME_ACCOUNT"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    INVALID_TRANSACTION_TYPE = "INVALID_TRANSACTION_TYPE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    NOT_REVERSIBLE = "NOT_REVERSIBLE"
    ALREADY_REVERTED = "ALREADY_REVERTED"
    NOT_CANCELLABLE = "NOT_CANCELLABLE"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    BATCH_ABORTED = "BATCH_ABORTED"
    ACCOUNT_FROZEN = "ACCOUNT_FROZEN"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"
    ACCOUNT_NOT_EMPTY = "ACCOUNT_NOT_EMPTY"
    NOT_CAPTURABLE = "NOT_CAPTURABLE"
    HOLD_EXPIRED = "HOLD_EXPIRED"
    AMOUNT_TOO_LARGE = "AMOUNT_TOO_LARGE"
    LIMIT_BELOW_USAGE = "LIMIT_BELOW_USAGE"

    @property
    def description(self) -> str:
        """The API's words for the code (the LedgerErrorCode enum's value descriptions, docs/CLIENTS.md)."""
        return ERROR_CODE_DESCRIPTIONS[self]


ERROR_CODE_DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.INVALID_INPUT: "A malformed input field (`field` names it): an empty or over-long name or "
    "description, an empty batch, the settlement account as a sender, text with NUL characters. Nothing was "
    "done. Fix the input; retrying it unchanged fails the same way.",
    ErrorCode.INVALID_AMOUNT: "The amount is not a positive number with at most two decimals, up to "
    "999999999999.99 (no NaN, Infinity, exponent or sign). Nothing was done. Send the amount as a string such "
    'as "1234.50".',
    ErrorCode.INVALID_DOCUMENT: "Not a valid CPF or CNPJ (the check digits are verified). Nothing was done. Ask "
    "the customer for the document again.",
    ErrorCode.DUPLICATE_DOCUMENT: "An account with this document already exists. Nothing was done. Find it with "
    "`accounts(search: <document>)` instead of opening another.",
    ErrorCode.ACCOUNT_NOT_FOUND: "The account ID (`field` names the input) does not name an account: unknown, "
    "malformed, or the global ID of another type. Nothing was done. Use an `Account` ID from an earlier answer.",
    ErrorCode.TRANSACTION_NOT_FOUND: "The transaction ID does not name a transaction: unknown, malformed, or the "
    "global ID of another type. Nothing was done. Use a `Transaction` ID from an earlier answer.",
    ErrorCode.SAME_ACCOUNT: "Sender and receiver are the same account (or a deposit names the settlement account "
    "itself). Nothing was done. Choose two different accounts.",
    ErrorCode.INSUFFICIENT_FUNDS: "The sender's available balance is below the amount: the transfer is recorded "
    "with status FAILED (the payload's transaction) and moves no money. For a reversal, the receiver cannot "
    "cover it and nothing is recorded. Retrying with a new idempotency key makes a new attempt; with the same "
    "key it answers this outcome again.",
    ErrorCode.INVALID_TRANSACTION_TYPE: "DEPOSIT or REVERSAL in createTransaction(s): use createDeposit or "
    "reverseTransaction. Nothing was done.",
    ErrorCode.IDEMPOTENCY_KEY_REUSED: "This idempotency key was used before with a different input. Nothing was "
    "done. A new operation needs a new key; a retry must repeat the original input exactly.",
    ErrorCode.NOT_REVERSIBLE: "Only a COMPLETED transaction that is not itself a REVERSAL can be reversed. "
    "Nothing was done. Cancel a PENDING one instead; a FAILED one moved no money.",
    ErrorCode.ALREADY_REVERTED: "The transaction was already reversed: its `reversedBy` is the REVERSAL. Nothing "
    "was done. Read the transaction instead of reversing again.",
    ErrorCode.NOT_CANCELLABLE: "Only a PENDING transaction can be cancelled; this one has settled or failed "
    "(reverse a COMPLETED one instead). Nothing was done.",
    ErrorCode.PERMISSION_DENIED: "The key's user lacks the permission for this mutation, or the key is "
    "read-only. Nothing was done. Ask the bank for a key allowed to do it; retrying will not help.",
    ErrorCode.BATCH_TOO_LARGE: "More than 1000 items in createTransactions. Nothing was done. Split the list "
    "into batches of at most 1000.",
    ErrorCode.BATCH_ABORTED: "With `atomic: true`, another item of the batch failed, so nothing of the batch "
    "was applied. Fix the failing item (it carries its own error) and send the batch again.",
    ErrorCode.ACCOUNT_FROZEN: "The sending account is FROZEN (a court order, a fraud hold): money may arrive but "
    "not leave. Nothing was recorded. The bank must unfreeze it first.",
    ErrorCode.ACCOUNT_CLOSED: "The account is CLOSED: nothing moves in or out, and its status never changes again. "
    "Nothing was done.",
    ErrorCode.ACCOUNT_NOT_EMPTY: "closeAccount: the balance is not 0.00, money is held, or a PENDING transaction "
    "sends to or from it. Nothing was done. Move the money out and let pending transactions finish first.",
    ErrorCode.NOT_CAPTURABLE: "captureTransaction: the transaction is not PENDING or was not created with "
    "captureMode MANUAL (already captured, cancelled, expired, or an AUTOMATIC one). Nothing was done.",
    ErrorCode.HOLD_EXPIRED: "captureTransaction: the hold reached holdExpiresAt by the database's clock. Nothing "
    "was done; the settlement worker releases it (FAILED, EXPIRED). Authorize again.",
    ErrorCode.AMOUNT_TOO_LARGE: "`amount` is more than can be taken: above the held amount (captureTransaction) "
    "or above what remains unreversed, capturedAmount - reversedAmount (reverseTransaction). Nothing was done.",
    ErrorCode.LIMIT_BELOW_USAGE: "setCreditLimit: the new limit is below what the account already uses "
    "(-availableBalance). Nothing was changed. Bring the account back up first, or choose a higher limit.",
}


class LedgerError(Exception):
    """A business-rule failure: a code, a human message and the input field at fault."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        # Set once an audit event records this refusal (``audit.services.audit_rejection``), so that
        # the layer that answers it (``core.graphql.mutations``) writes one only where none was.
        self.audited = False

    def __repr__(self) -> str:
        return f"LedgerError({self.code.value!r}, {self.message!r}, field={self.field!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LedgerError):
            return NotImplemented
        return (self.code, self.message, self.field) == (other.code, other.message, other.field)

    def __hash__(self) -> int:
        return hash((self.code, self.message, self.field))

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code.value, "message": self.message, "field": self.field}
