"""Realistic demo data, made through the same services as real traffic.

Deterministic for a seed: the plan (names, documents, balances, who pays whom,
how much, which type) is drawn from ``random.Random`` seeded with strings, so
it is the same on every machine and never looks at the database. Idempotent
per seed: documents come from the seed and existing accounts are reused, and
each transfer carries an idempotency key made of the seed, the account count
and its index, under one fixed system actor; a second run replays instead of
moving money again (a bigger --transactions extends the same sequence).

Names and documents are our own lists and arithmetic rather than Faker: Faker
is a test dependency, and this command ships with the app.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate

from accounts.models import Account
from accounts.services import account_create
from core.documents import cnpj_check_digits, cpf_check_digits
from transactions.idempotency import idempotency_scope
from transactions.models import Transaction
from transactions.services import MAX_BATCH, TransferSpec, transfer_batch_create

ACTOR = "seed"  # a fixed system actor: the idempotency scope is the same on every run
SCOPE = idempotency_scope(ACTOR, "createTransactions")

FIRST_NAMES = (
    "Maria", "José", "Ana", "João", "Antônio", "Francisco", "Carlos", "Paulo", "Pedro", "Lucas", "Luiz", "Marcos",
    "Gabriel", "Rafael", "Francisca", "Daniel", "Marcelo", "Bruno", "Eduardo", "Felipe", "Raimundo", "Rodrigo",
    "Antônia", "Adriana", "Juliana", "Márcia", "Fernanda", "Patrícia", "Aline", "Sandra", "Camila", "Amanda",
    "Bruna", "Jéssica", "Letícia", "Júlia", "Luciana", "Vanessa", "Mariana", "Gabriela", "Vitória", "Larissa",
    "Cláudia", "Beatriz", "Rita", "Luana", "Sônia", "Renata", "Helena", "Thiago", "Matheus", "Guilherme",
    "Gustavo", "Leonardo", "Miguel", "Arthur", "Heitor", "Davi", "Bernardo", "Valentina", "Sofia", "Alice",
    "Laura", "Isabela", "Manuela", "Lorena", "Yasmin", "Otávio", "Vinícius", "Igor", "Caio", "Natália", "Débora",
    "Tatiana", "Rosângela", "Sebastião", "Raquel", "Simone", "Fábio", "Ricardo",
)  # fmt: skip
COMPOUND_FIRST = (
    "Maria Eduarda", "João Pedro", "Ana Clara", "Luiz Fernando", "Ana Paula", "Pedro Henrique", "Maria Clara",
    "João Vitor", "Ana Luíza", "Carlos Eduardo",
)  # fmt: skip
LAST_NAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes", "Costa",
    "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa", "Rocha",
    "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas", "Cardoso",
    "Ramos", "Gonçalves", "Santana", "Teixeira", "Araújo", "Pinto", "Correia", "Cavalcanti", "Monteiro", "Moura",
    "Batista", "Campos", "Reis", "Castro", "Barros", "Farias", "Melo", "Azevedo", "Cunha",
)  # fmt: skip
# Surnames as they are written with their particle.
WITH_PARTICLE = (
    "da Silva", "dos Santos", "de Souza", "de Oliveira", "da Costa", "de Almeida", "da Cunha", "de Freitas",
    "de Jesus", "do Nascimento", "da Rocha", "de Andrade", "dos Reis", "da Conceição",
)  # fmt: skip
BUSINESSES = (
    "Comércio de Alimentos", "Serviços Contábeis", "Tecnologia", "Transportes", "Construções", "Engenharia",
    "Consultoria", "Distribuidora", "Farmácia", "Padaria", "Auto Peças", "Materiais de Construção",
    "Clínica Odontológica", "Advocacia", "Papelaria",
)  # fmt: skip
COMPANY_FORMS = ("Ltda", "Ltda", "S.A.", "ME", "EPP")
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# type, weight, median amount in centavos: PIX and TRANSFER mostly, some TED and DOC.
TYPE_MIX = (("PIX", 70, 6_000), ("TRANSFER", 18, 25_000), ("TED", 8, 120_000), ("DOC", 4, 60_000))
DESCRIPTIONS = {
    "PIX": ("", "Pix", "Almoço", "Mercado", "Rachando a conta", "Presente", "Corrida", "Conta de luz", "Açaí"),
    "TRANSFER": ("", "Transferência entre contas", "Reembolso", "Mesada", "Aluguel", "Condomínio"),
    "TED": ("Pagamento de fornecedor", "Salário", "Honorários", "Aluguel comercial", "Nota fiscal"),
    "DOC": ("Pagamento de fornecedor", "Mensalidade escolar", "Serviços prestados"),
}
MAX_AMOUNT = 2_000_000  # 20,000.00: the tail of the log-normal is cut here

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class AccountPlan:
    name: str
    document: str
    initial_balance: int  # centavos


@dataclass(frozen=True)
class TransferPlan:
    sender: int  # index into the planned accounts
    receiver: int
    amount: int  # centavos
    type: str
    description: str


@dataclass
class SeedReport:
    seed: int
    accounts: int = 0
    accounts_created: int = 0
    transactions: int = 0
    transactions_created: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


# --- The plan: pure, deterministic --------------------------------------------------


def cpf(rng: random.Random) -> str:
    nine = f"{rng.randrange(1, 10**9):09d}"
    while len(set(nine)) == 1:  # one repeated digit is never a valid CPF
        nine = f"{rng.randrange(1, 10**9):09d}"
    return nine + cpf_check_digits(nine)


def cnpj(rng: random.Random) -> str:
    """A head-office CNPJ; half of them in the alphanumeric form in force since July 2026."""
    if rng.random() < 0.5:
        root = "".join(rng.choice(ALPHANUMERIC) for _ in range(8))
    else:
        root = f"{rng.randrange(1, 10**8):08d}"
    twelve = root + "0001"
    return twelve + cnpj_check_digits(twelve)


def person_name(rng: random.Random) -> str:
    first = rng.choice(COMPOUND_FIRST) if rng.random() < 0.15 else rng.choice(FIRST_NAMES)
    middle = rng.choice(WITH_PARTICLE) if rng.random() < 0.3 else rng.choice(LAST_NAMES)
    return f"{first} {middle} {rng.choice(LAST_NAMES)}"


def company_name(rng: random.Random) -> str:
    return f"{rng.choice(LAST_NAMES)} {rng.choice(BUSINESSES)} {rng.choice(COMPANY_FORMS)}"


def plan_accounts(count: int, seed: int) -> list[AccountPlan]:
    """``count`` accounts: 85% people (CPF), 15% companies (CNPJ); the first N of a seed never change."""
    rng = random.Random(f"accounts:{seed}")
    plans: list[AccountPlan] = []
    seen: set[str] = set()
    while len(plans) < count:
        if rng.random() < 0.85:
            document, name = cpf(rng), person_name(rng)
            balance = rng.randrange(100_000, 5_000_000)  # 1,000.00 to 50,000.00
        else:
            document, name = cnpj(rng), company_name(rng)
            balance = rng.randrange(1_000_000, 50_000_000)  # 10,000.00 to 500,000.00
        if document not in seen:
            seen.add(document)
            plans.append(AccountPlan(name, document, balance))
    return plans


def plan_transfers(accounts: int, count: int, seed: int) -> Iterator[TransferPlan]:
    """``count`` transfers among ``accounts`` accounts; some accounts are much busier than others (Pareto)."""
    if accounts < 2:
        raise ValueError("transfers need at least 2 accounts")
    rng = random.Random(f"transactions:{seed}:{accounts}")
    activity = list(accumulate(rng.paretovariate(2.5) for _ in range(accounts)))
    population = range(accounts)
    type_weights = list(accumulate(weight for _, weight, _ in TYPE_MIX))
    for _ in range(count):
        sender, receiver = rng.choices(population, cum_weights=activity, k=2)
        while receiver == sender:
            receiver = rng.choices(population, cum_weights=activity)[0]
        ((kind, _, median),) = rng.choices(TYPE_MIX, cum_weights=type_weights)
        amount = min(MAX_AMOUNT, max(100, round(rng.lognormvariate(math.log(median), 0.9))))
        yield TransferPlan(sender, receiver, amount, kind, rng.choice(DESCRIPTIONS[kind]))


def key_prefix(seed: int, accounts: int) -> str:
    """Keys name the seed and the account count: another count is another plan, not a reused key."""
    return f"seed:{seed}:{accounts}:"


def transfer_key(seed: int, accounts: int, index: int) -> str:
    return f"{key_prefix(seed, accounts)}{index}"


# --- Writing it through the services -----------------------------------------------


def seed_accounts(plans: list[AccountPlan], report: SeedReport, progress: Progress) -> list[int]:
    """Opens the planned accounts that do not exist yet; returns every planned account's pk, in plan order."""
    progress("accounts", 0, len(plans))
    pks: dict[str, int] = {}
    for start in range(0, len(plans), 500):
        documents = [plan.document for plan in plans[start : start + 500]]
        pks.update(Account.objects.filter(document__in=documents).values_list("document", "pk"))
    for done, plan in enumerate(plans, start=1):
        if plan.document not in pks:
            account = account_create(
                name=plan.name, document=plan.document, initial_balance=plan.initial_balance, actor=ACTOR
            )
            pks[plan.document] = account.pk
            report.accounts_created += 1
        if done % 25 == 0 or done == len(plans):
            progress("accounts", done, len(plans))
    report.accounts = len(plans)
    return [pks[plan.document] for plan in plans]


def seed_transactions(pks: list[int], count: int, report: SeedReport, progress: Progress) -> None:
    """Sends the planned transfers through ``transfer_batch_create`` in batches of 1,000, not atomic."""
    prefix = key_prefix(report.seed, len(pks))
    existing = Transaction.objects.filter(idempotency_scope=SCOPE, idempotency_key__startswith=prefix)
    before = existing.count()
    progress("transactions", 0, count)
    specs: list[TransferSpec] = []
    for index, plan in enumerate(plan_transfers(len(pks), count, report.seed)):
        key = transfer_key(report.seed, len(pks), index)
        specs.append(TransferSpec(pks[plan.sender], pks[plan.receiver], plan.amount, plan.type, plan.description, key))
        if len(specs) == MAX_BATCH or index == count - 1:
            for result in transfer_batch_create(specs=specs, atomic=False, actor=ACTOR):
                tx, error = result.transaction, result.error
                report.outcomes[str(tx.status if tx is not None else error.code if error else "UNKNOWN")] += 1
            specs = []
            progress("transactions", index + 1, count)
    report.transactions = count
    report.transactions_created = existing.count() - before


def seed_ledger(*, accounts: int, transactions: int, seed: int, progress: Progress | None = None) -> SeedReport:
    """Seeds ``accounts`` accounts and ``transactions`` transfers among them; safe to run again."""
    started = time.perf_counter()
    report = SeedReport(seed=seed)
    show = progress or (lambda label, done, total: None)
    pks = seed_accounts(plan_accounts(accounts, seed), report, show)
    if transactions:
        seed_transactions(pks, transactions, report, show)
    report.seconds = time.perf_counter() - started
    return report


class ProgressBar:
    """A one-line progress bar on a terminal; a line per 10% elsewhere (CI logs, files).

    Small enough to own rather than add a dependency for one line of output.
    """

    WIDTH = 30

    def __init__(self, write: Callable[[str], object] | None = None, *, tty: bool | None = None) -> None:
        self.write = write or sys.stderr.write
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.started: dict[str, float] = {}
        self.reported: dict[str, int] = {}

    def __call__(self, label: str, done: int, total: int) -> None:
        now = time.perf_counter()
        started = self.started.setdefault(label, now)
        rate = done / (now - started) if now > started else 0.0
        eta = f"{(total - done) / rate:.0f} s left" if rate and done < total else f"{now - started:.1f} s"
        if self.tty:
            filled = self.WIDTH * done // max(total, 1)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            end = "\n" if done >= total else ""
            self.write(f"\r{label:<12} [{bar}] {done:>9,}/{total:,} {rate:>8,.0f}/s {eta:<12}{end}")
        else:
            tenth = 10 * done // max(total, 1)
            if tenth <= self.reported.get(label, -1):
                return
            self.reported[label] = tenth
            self.write(f"{label:<12} {done:>9,}/{total:,} ({10 * tenth}%) {eta}\n")
