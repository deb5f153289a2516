"""Documents are ASCII (issue 9): rewrites any stored look-alike digit to its ASCII digit.

Until ``core.documents`` refused non-ASCII text, ``\\d`` and python-stdnum
accepted any Unicode decimal digit (full-width U+FF15, Arabic-Indic U+0665),
and the document was stored as typed, so a CPF in full-width digits slipped
past the UNIQUE index that its ASCII form holds. Such digits are the only non-ASCII characters
the old patterns let through (``[0-9A-Z]`` never matched a look-alike letter),
so mapping each Unicode decimal digit to its value gives the canonical form.

When that form already belongs to another account (the duplicate the bug let
in), the row is left as it is: merging or renaming an account that may hold
money is a decision for a person, not for a migration. The migration names
such accounts, and ``verify_ledger`` reports them ("documents are canonical")
until an operator has resolved them (docs/OPERATIONS.md).
"""

import sys
import unicodedata

from django.db import migrations

# Anything outside printable ASCII: the same class in PostgreSQL's and Python's regular expressions.
NOT_PRINTABLE_ASCII = r"[^ -~]"


def ascii_digits(text):  # type: ignore[no-untyped-def]
    return "".join(str(unicodedata.decimal(c)) if not c.isascii() and c.isdecimal() else c for c in text)


def canonical_documents(apps, schema_editor):  # type: ignore[no-untyped-def]
    Account = apps.get_model("accounts", "Account")
    suspects = Account.objects.filter(document__regex=NOT_PRINTABLE_ASCII).order_by("pk")
    left = []
    for pk, document in suspects.values_list("pk", "document"):
        fixed = ascii_digits(document)
        if not fixed.isascii() or Account.objects.filter(document=fixed).exists():
            left.append(pk)
            continue
        Account.objects.filter(pk=pk).update(document=fixed)
    if left:
        sys.stderr.write(
            f"accounts.0003: left {len(left)} account(s) with a non-ASCII document whose ASCII form another account "
            f"holds: {', '.join(map(str, left))}. verify_ledger reports them until an operator resolves them.\n"
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_settlement_account")]
    operations = [migrations.RunPython(canonical_documents, migrations.RunPython.noop)]
