import pytest

from accounts.models import Account, AccountKind
from accounts.services import account_create
from audit.models import AuditEvent
from core.counters import ACCOUNTS, counter_total
from core.errors import ErrorCode, LedgerError
from tests.factories import valid_cnpj, valid_cpf
from tests.ledger_checks import assert_books_balance
from transactions.models import Transaction, TransactionType

pytestmark = pytest.mark.django_db


def test_settlement_account_exists_from_the_migrations(settlement: Account) -> None:
    assert Account.objects.filter(kind=AccountKind.SETTLEMENT).count() == 1
    assert settlement.pk == 0


def test_first_customer_account_is_account_1(settlement: Account) -> None:
    account = account_create(name="João", document=valid_cpf())
    assert account.pk >= 1
    assert account.kind == AccountKind.CUSTOMER


def test_initial_balance_is_a_deposit_from_settlement_in_the_same_transaction(settlement: Account) -> None:
    account = account_create(name="  Maria Silva  ", document="529.982.247-25", initial_balance=100_000)
    assert account.name == "Maria Silva"
    assert account.document == "52998224725"
    assert account.document_type == "CPF"
    assert account.balance == 100_000
    deposit = Transaction.objects.get(receiver=account)
    assert deposit.type == TransactionType.DEPOSIT
    assert deposit.sender_id == settlement.pk
    settlement.refresh_from_db()
    assert settlement.balance == -100_000
    assert_books_balance()


def test_zero_balance_opens_without_a_deposit(settlement: Account) -> None:
    account = account_create(name="Zé", document=valid_cnpj(), initial_balance=0)
    assert account.balance == 0
    assert account.document_type == "CNPJ"
    assert not Transaction.objects.filter(receiver=account).exists()


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"name": "   "}, ErrorCode.INVALID_INPUT, "name"),
        ({"name": "x" * 201}, ErrorCode.INVALID_INPUT, "name"),
        ({"document": "11111111111"}, ErrorCode.INVALID_DOCUMENT, "document"),
        ({"document": "123"}, ErrorCode.INVALID_DOCUMENT, "document"),
        ({"initial_balance": -1}, ErrorCode.INVALID_AMOUNT, "balance"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    settlement: Account, kwargs: dict, code: ErrorCode, field: str
) -> None:
    before = Account.objects.count()
    arguments = {"name": "Ana", "document": valid_cpf(), "initial_balance": 0, **kwargs}
    with pytest.raises(LedgerError) as caught:
        account_create(**arguments)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert Account.objects.count() == before
    assert AuditEvent.objects.filter(action="createAccount", outcome=code.value).exists()


def test_duplicate_document_is_refused_even_with_other_punctuation(settlement: Account) -> None:
    account_create(name="Ana", document="52998224725")
    with pytest.raises(LedgerError) as caught:
        account_create(name="Outra Ana", document=" 529.982.247-25 ")
    assert caught.value.code == ErrorCode.DUPLICATE_DOCUMENT
    assert Account.objects.filter(document="52998224725").count() == 1


def test_account_counter_is_exact(settlement: Account) -> None:
    for _ in range(3):
        account_create(name="Cliente", document=valid_cpf())
    assert counter_total(ACCOUNTS) == Account.objects.count()
