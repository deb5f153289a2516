"""Every part of the printed schema says what it is: types, fields, arguments, enum values.

Other issues add fields; each must come with its description, or this fails
naming it. The error codes also say what the client should do, and the two
custom scalars point (specifiedByURL) at their specification, which the API serves.
"""

from __future__ import annotations

import pytest
from django.test import Client
from graphql import build_schema

from core.errors import ERROR_CODE_DESCRIPTIONS, ErrorCode
from core.graphql.descriptions import undescribed
from ledger_project.schema import schema

PRINTED = build_schema(str(schema))


def test_every_type_field_argument_and_enum_value_of_the_printed_schema_has_a_description() -> None:
    assert undescribed(PRINTED) == []


def test_the_check_names_what_lacks_a_description() -> None:
    bare = build_schema(
        '"""Q."""\ntype Query {\n  """f."""\n  f(a: Int): E\n  g: Int\n}\n"""E."""\nenum E {\n  """x."""\n  X\n  Y\n}\n'
        "enum F { Z }\n"
    )
    assert undescribed(bare) == ["Query.f(a)", "Query.g", "E.Y", "F", "F.Z"]


def test_graphenes_placeholder_an_enumeration_does_not_count() -> None:
    assert undescribed(
        build_schema('"""An enumeration."""\nenum E { """x."""\n X }\ntype Query { """f."""\n f: E }')
    ) == [
        "E",
        "Query",
    ]


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_ledger_error_code_says_what_happened_and_what_to_do(code: ErrorCode) -> None:
    value = PRINTED.get_type("LedgerErrorCode").values[code.value]  # type: ignore[union-attr]
    assert value.description == ERROR_CODE_DESCRIPTIONS[code]
    # What happened, and what the client does next: each description is at least two sentences.
    assert value.description.count(". ") >= 1, value.description


def test_decimal_and_datetime_are_specified_by_a_page_the_api_serves() -> None:
    client = Client()
    for name, must_say in (("Decimal", '"1234.50"'), ("DateTime", "+00:00")):
        scalar = PRINTED.get_type(name)
        assert scalar.specified_by_url == f"/graphql/scalars/{name}"  # type: ignore[union-attr]
        response = client.get(scalar.specified_by_url, secure=True)  # type: ignore[union-attr]
        assert response.status_code == 200
        assert response["Content-Type"] == "text/markdown; charset=utf-8"
        text = response.content.decode()
        assert text.startswith(f"# The {name} scalar") and must_say in text
    assert client.get("/graphql/scalars/String", secure=True).status_code == 404
