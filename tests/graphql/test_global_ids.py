"""Global IDs: one spelling per object, and the parse cache that a batch's repeated IDs go through."""

from __future__ import annotations

import base64

from core.graphql import node
from core.graphql.node import decode_id, global_id, parse_id


def test_a_global_id_parses_to_its_type_and_pk_the_same_whether_cached_or_not() -> None:
    text = global_id("Account", 42)
    assert parse_id(text) == parse_id(text) == ("Account", 42)
    assert decode_id(text, "Account") == 42 and decode_id(text, "Transaction") is None


def test_other_spellings_of_a_pk_are_malformed() -> None:
    for raw in ("+1", "01", " 1", "-1", "x"):
        text = base64.b64encode(f"Account:{raw}".encode()).decode()
        assert parse_id(text) == (None, None), raw
    assert parse_id(None) == parse_id(7) == (None, None)


def test_the_cache_keeps_only_text_of_an_id_s_length() -> None:
    """A client's long junk IDs must not fill memory: past ``_CACHED_ID_LENGTH`` the parse is not cached."""
    long_junk = "A" * (node._CACHED_ID_LENGTH + 1)
    before = node._cached_parse.cache_info().currsize
    assert parse_id(long_junk) == (None, None)
    assert node._cached_parse.cache_info().currsize == before
    fresh = global_id("Transaction", 987_654_321)
    parse_id(fresh)
    assert node._cached_parse.cache_info().currsize in (before + 1, node._cached_parse.cache_info().maxsize)
