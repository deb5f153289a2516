"""The base of every mutation: permission first, then one service, business failures in the payload.

A mutation declares its permission beside it (``class Meta: permission =
"transactions.add_transaction"``) and implements ``perform``, which decodes
the input, calls one service and returns the payload's fields. The base checks
the permission before ``perform`` runs (missing: ``PERMISSION_DENIED``, nothing
done), turns a ``core.errors.LedgerError`` into the payload's ``errors`` and
echoes ``clientMutationId`` (graphene's ``ClientIDMutation``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import graphene
from graphene import relay

from core.errors import LedgerError
from core.graphql.payload import payload_errors, permission_denied
from core.permissions import has_permission


class LedgerMutation(relay.ClientIDMutation):
    class Meta:
        abstract = True

    permission: ClassVar[str]
    # Payload fields on failure besides `errors` (a non-null list answers empty, not null).
    empty_payload: ClassVar[dict[str, Any]] = {}

    @classmethod
    def __init_subclass_with_meta__(cls, permission: str | None = None, **options: Any) -> None:
        if not permission:
            raise TypeError(f"{cls.__name__} must declare Meta.permission")
        cls.permission = permission
        super().__init_subclass_with_meta__(**options)

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **data: Any) -> dict[str, Any]:
        """Decode the input, call one service, return the payload fields (raise LedgerError to refuse)."""
        raise NotImplementedError

    @classmethod
    def mutate_and_get_payload(cls, root: Any, info: graphene.ResolveInfo, **data: Any) -> LedgerMutation:
        if not has_permission(info.context, cls.permission):
            return cls(**cls.empty_payload, errors=payload_errors(permission_denied()))
        try:
            fields = cls.perform(info, **data)
        except LedgerError as error:
            return cls(**cls.empty_payload, errors=payload_errors(error))
        return cls(**{"errors": [], **fields})

    @classmethod
    def field(cls) -> graphene.Field:
        """The contract's mutation fields are non-null: `createAccount(input: ...!): CreateAccountPayload!`."""
        return cls.Field(required=True)
