"""The base of every mutation: permission first, then one service, business failures in the payload.

A mutation declares its permission beside it (``class Meta: permission =
"transactions.add_transaction"``) and implements ``perform``, which decodes
the input, calls one service and returns the payload's fields. The base checks
the permission before ``perform`` runs (missing: ``PERMISSION_DENIED``, nothing
done), turns a ``core.errors.LedgerError`` into the payload's ``errors`` and
echoes ``clientMutationId`` (graphene's ``ClientIDMutation``).

Text the String scalar refused (``core.graphql.scalars.RefusedText``: a NUL,
a lone surrogate) anywhere in the input, list items and nested inputs
included, answers ``INVALID_INPUT`` naming the input field, and ``perform``
never runs: nothing is written but the refusal's audit event (which names the
field, never the text). A refused ID is a malformed ID: ``perform`` decodes it
like any other, to ACCOUNT_NOT_FOUND / TRANSACTION_NOT_FOUND.

Every refusal gets exactly one audit event, whichever layer refuses: the
permission gate and the input checks here, a decoder in ``perform`` (an
unknown ID, a malformed amount), or a service. A service records its own
(``audit.services.refuse``, in its database transaction) and marks the error;
this base records the others (``audit.services.audit_unrecorded``, which the
audit app installs with ``record_refusals_with``: ``core`` imports no app),
under the mutation's ``action``: its field name in the schema
(``createTransaction``).
"""

from __future__ import annotations

import datetime
import enum
import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import graphene
from graphene import relay
from graphene.utils.str_converters import to_camel_case

from core.context import operation_input
from core.errors import ErrorCode, LedgerError
from core.graphql.payload import payload_errors, permission_denied
from core.graphql.scalars import RefusedText
from core.permissions import has_permission

RefusalRecorder = Callable[..., None]  # (*, actor, action, error): records error's event unless recorded
_recorder: list[RefusalRecorder] = []


def record_refusals_with(recorder: RefusalRecorder) -> None:
    """Installs the function that audits a refusal no service recorded (the audit app's, at startup)."""
    _recorder[:] = [recorder]


def _record_refusal(actor: Any, action: str, error: LedgerError) -> None:
    if not _recorder:
        raise RuntimeError("No refusal recorder installed: the audit app must be in INSTALLED_APPS.")
    _recorder[0](actor=actor, action=action, error=error)


def refused_input(data: Mapping[str, Any]) -> LedgerError | None:
    """INVALID_INPUT for the first input field holding refused text; ``field`` is its name in its input type."""
    for path, name, refused in _refusals(data, "", ""):
        return LedgerError(ErrorCode.INVALID_INPUT, f"`{path}` {refused.reason}", name)
    return None


def _refusals(value: Any, path: str, name: str) -> Iterator[tuple[str, str, RefusedText]]:
    """(path such as ``transactions[3].description``, field name, refusal) of each refused text in ``value``."""
    if isinstance(value, RefusedText):
        if value.answered_here:  # a refused ID is a malformed one: its decoder answers *_NOT_FOUND
            yield path, name, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            child = _api_name(key)
            yield from _refusals(item, f"{path}.{child}" if path else child, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _refusals(item, f"{path}[{index}]", name)


# An input key's API spelling (``sender_account`` -> ``senderAccount``), once per key: a batch of 1,000
# asked it 100,000 times per request. The keys are the schema's input fields, so the cache stays small.
_api_name = functools.lru_cache(maxsize=1024)(to_camel_case)

REFUSED_TEXT = "<refused text>"  # what the audit trail keeps of text the String scalar refused


def plain_input(value: Any) -> Any:
    """A mutation's input as JSON values, named as the API names them (``senderAccount``), for the audit trail.

    Refused text is kept as ``REFUSED_TEXT``: a NUL cannot be stored, and the
    trail names a refusal, never its text. Enums by name, instants in ISO 8601.
    """
    if isinstance(value, Mapping):
        return {_api_name(key): plain_input(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_input(item) for item in value]
    if isinstance(value, RefusedText):
        return REFUSED_TEXT
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


class LedgerMutation(relay.ClientIDMutation):
    class Meta:
        abstract = True

    permission: ClassVar[str]
    # The audit trail's name of the operation: the mutation's field name ("createTransaction").
    action: ClassVar[str]
    # Payload fields on failure besides `errors` (a non-null list answers empty, not null).
    empty_payload: ClassVar[dict[str, Any]] = {}

    @classmethod
    def __init_subclass_with_meta__(cls, permission: str | None = None, **options: Any) -> None:
        if not permission:
            raise TypeError(f"{cls.__name__} must declare Meta.permission")
        cls.permission = permission
        cls.action = cls.__name__[:1].lower() + cls.__name__[1:]
        super().__init_subclass_with_meta__(**options)

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **data: Any) -> dict[str, Any]:
        """Decode the input, call one service, return the payload fields (raise LedgerError to refuse)."""
        raise NotImplementedError

    @classmethod
    def mutate_and_get_payload(cls, root: Any, info: graphene.ResolveInfo, **data: Any) -> LedgerMutation:
        with operation_input(plain_input(data)):  # every audit event of the operation keeps it
            try:
                if not has_permission(info.context, cls.permission):
                    raise permission_denied()
                refused = refused_input(data)
                if refused is not None:
                    raise refused
                fields = cls.perform(info, **data)
            except LedgerError as error:
                _record_refusal(getattr(info.context, "user", None), cls.action, error)
                return cls(**cls.empty_payload, errors=payload_errors(error))
        return cls(**{"errors": [], **fields})

    @classmethod
    def mutate(cls, root: Any, info: graphene.ResolveInfo, input: dict[str, Any]) -> Any:
        payload = super().mutate(root, info, input)
        if isinstance(payload.client_mutation_id, RefusedText):
            payload.client_mutation_id = None  # echoed text must be text; INVALID_INPUT already names it
        return payload

    @classmethod
    def field(cls, description: str | None = None) -> graphene.Field:
        """The contract's mutation fields are non-null: `createAccount(input: ...!): CreateAccountPayload!`."""
        return cls.Field(required=True, description=description)
