"""Test data made through the services, so it obeys every rule the ledger does."""

from __future__ import annotations

import itertools

import factory
from django.contrib.auth import get_user_model

from accounts.models import Account
from accounts.services import account_create
from core.documents import cnpj_check_digits, cpf_check_digits

_serial = itertools.count(100_000_001)


def valid_cpf() -> str:
    """A fresh valid CPF (never one repeated digit)."""
    nine = f"{next(_serial):09d}"[-9:]
    return nine + cpf_check_digits(nine)


def valid_cnpj(prefix: str = "12ABC") -> str:
    twelve = (prefix + f"{next(_serial):012d}")[:12]
    return twelve + cnpj_check_digits(twelve)


def make_account(balance: int = 0, name: str | None = None) -> Account:
    """A customer account with ``balance`` centavos deposited from the settlement account."""
    return account_create(name=name or f"Cliente {next(_serial)}", document=valid_cpf(), initial_balance=balance)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
