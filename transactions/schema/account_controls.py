"""The account controls: freezeAccount, unfreezeAccount, closeAccount and setCreditLimit.

They change what an account may do and live with the money path
(``transactions.services.account_controls``), so this app adds them to the API,
as it adds the Account's lists. The three status mutations share one input and
one payload type (the contract's ``ChangeAccountStatusInput``/``Payload``):
``ChangeAccountStatus`` declares them, and ``FreezeAccount``, ``UnfreezeAccount``
and ``CloseAccount`` are abstract subclasses (``ChangeAccountStatus.doing``) that
reuse its types (graphene makes no new ones for an abstract class) with their own
``action`` and service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import graphene

from accounts.models import Account
from accounts.schema import AccountType
from core.graphql.loaders import register_for_loading
from core.graphql.mutations import LedgerMutation
from core.graphql.payload import ErrorList
from core.graphql.scalars import Decimal
from core.money import parse_amount
from transactions import services
from transactions.schema.mutations import account_pk


class ChangeAccountStatus(LedgerMutation):
    class Meta:
        permission = services.STATUS_PERMISSION

    class Input:
        account_id = graphene.NonNull(graphene.ID, description="Global ID of the Account.")
        reason = graphene.NonNull(
            graphene.String, description="Required, 1 to 500 characters: kept on the account and in the audit trail."
        )

    account = graphene.Field(AccountType, description="The account, with its status as it now is.")
    errors = ErrorList()

    change: ClassVar[Callable[..., Account]]

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **data: Any) -> dict[str, Any]:
        account = cls.change(
            account_id=account_pk(data["account_id"], "accountId"), reason=data["reason"], actor=info.context.user
        )
        return {"account": register_for_loading(account)[0]}

    @classmethod
    def field(cls, description: str | None = None) -> graphene.Field:
        """The shared payload type, resolved by this class (its ``action`` and ``change``)."""
        return graphene.Field(
            cls._meta.output, args=cls._meta.arguments, resolver=cls.mutate, required=True, description=description
        )

    @classmethod
    def doing(cls, action: str, change: Callable[..., Account]) -> type[ChangeAccountStatus]:
        """One of the status mutations: an abstract subclass, so graphene makes no new types for it."""
        name = action[:1].upper() + action[1:]
        return type(name, (cls,), {"Meta": {"abstract": True}, "action": action, "change": staticmethod(change)})


FreezeAccount = ChangeAccountStatus.doing("freezeAccount", services.account_freeze)
UnfreezeAccount = ChangeAccountStatus.doing("unfreezeAccount", services.account_unfreeze)
CloseAccount = ChangeAccountStatus.doing("closeAccount", services.account_close)


class SetCreditLimit(LedgerMutation):
    class Meta:
        permission = services.LIMIT_PERMISSION

    class Input:
        account_id = graphene.NonNull(graphene.ID, description="Global ID of the Account.")
        credit_limit = graphene.NonNull(
            Decimal, description="0 or more; not below what the account already uses (-availableBalance)."
        )

    account = graphene.Field(AccountType, description="The account, with its new creditLimit.")
    errors = ErrorList()

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **data: Any) -> dict[str, Any]:
        account = services.account_set_credit_limit(
            account_id=account_pk(data["account_id"], "accountId"),
            credit_limit=parse_amount(data["credit_limit"], field="creditLimit", allow_zero=True),
            actor=info.context.user,
        )
        return {"account": register_for_loading(account)[0]}
