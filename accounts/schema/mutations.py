"""createAccount: the one account mutation."""

from __future__ import annotations

from typing import Any

import graphene

from accounts.schema.types import AccountType
from accounts.services import account_create
from core.graphql.loaders import register_for_loading
from core.graphql.mutations import LedgerMutation
from core.graphql.payload import ErrorList
from core.graphql.scalars import Decimal
from core.money import parse_amount


class CreateAccount(LedgerMutation):
    class Meta:
        permission = "accounts.add_account"

    class Input:
        name = graphene.NonNull(graphene.String, description="The holder's name, 1 to 200 characters.")
        document = graphene.NonNull(
            graphene.String, description="CPF or CNPJ; punctuation (. - /) and surrounding spaces are ignored."
        )
        balance = Decimal(description="Initial deposit, booked as a DEPOSIT from the settlement account. Default 0.")

    account = graphene.Field(AccountType, description="The new account; null when refused.")
    errors = ErrorList()

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **data: Any) -> dict[str, Any]:
        balance = data.get("balance")
        account = account_create(
            name=data["name"],
            document=data["document"],
            initial_balance=0 if balance is None else parse_amount(balance, field="balance", allow_zero=True),
            actor=info.context.user,
        )
        return {"account": register_for_loading(account)[0]}
