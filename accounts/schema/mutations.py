"""createAccount and updateAccount: the account mutations that move no money."""

from __future__ import annotations

from typing import Any

import graphene

from accounts.schema.types import AccountType
from accounts.services import CHANGE_PERMISSION, account_create, account_update
from core.errors import ErrorCode, LedgerError
from core.graphql.loaders import register_for_loading
from core.graphql.metadata import CREATE_METADATA, metadata_input
from core.graphql.mutations import LedgerMutation
from core.graphql.node import decode_id
from core.graphql.payload import ErrorList
from core.graphql.scalars import Decimal
from core.metadata import metadata_pairs
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
        metadata = metadata_input(CREATE_METADATA)

    account = graphene.Field(AccountType, description="The new account; null when refused.")
    errors = ErrorList()

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **data: Any) -> dict[str, Any]:
        balance = data.get("balance")
        account = account_create(
            name=data["name"],
            document=data["document"],
            initial_balance=0 if balance is None else parse_amount(balance, field="balance", allow_zero=True),
            metadata=metadata_pairs(data.get("metadata")) or (),
            actor=info.context.user,
        )
        return {"account": register_for_loading(account)[0]}


class UpdateAccount(LedgerMutation):
    class Meta:
        permission = CHANGE_PERMISSION
        description = "Replaces an account's name and/or whole metadata. Permission: accounts.change_account."

    class Input:
        account_id = graphene.NonNull(graphene.ID, description="Global ID of the Account.")
        name = graphene.String(description="New name; unchanged when absent.")
        metadata = metadata_input("Replaces the whole metadata; unchanged when absent; [] clears it.")

    account = graphene.Field(AccountType, description="The account as changed; null when refused.")
    errors = ErrorList()

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **data: Any) -> dict[str, Any]:
        pk = decode_id(data["account_id"], "Account")
        if pk is None:
            raise LedgerError(ErrorCode.ACCOUNT_NOT_FOUND, "No account has this ID.", "accountId")
        account = account_update(
            account_id=pk,
            name=data.get("name"),
            metadata=metadata_pairs(data.get("metadata")),
            actor=info.context.user,
        )
        return {"account": register_for_loading(account)[0]}
