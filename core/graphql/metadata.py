"""The GraphQL shape of metadata (``core.metadata``): one output type, one input type, one filter argument."""

from __future__ import annotations

from typing import Any

import graphene

from core.metadata import entries_of


class MetadataEntry(graphene.ObjectType):
    class Meta:
        description = "A label the client attaches: its own reference, a PIX end-to-end ID, a cost centre."

    key = graphene.NonNull(graphene.String, description="1 to 40 characters of A-Z a-z 0-9 _ . -")
    value = graphene.NonNull(graphene.String, description="At most 500 characters.")


class MetadataEntryInput(graphene.InputObjectType):
    class Meta:
        description = "One label: a key (1 to 40 characters of A-Z a-z 0-9 _ . -) and its value (at most 500)."

    key = graphene.NonNull(graphene.String, description="1 to 40 characters of A-Z a-z 0-9 _ . -")
    value = graphene.NonNull(graphene.String, description="At most 500 characters.")


def metadata_input(description: str) -> graphene.List:
    """An optional ``[MetadataEntryInput!]`` input field or argument."""
    return graphene.List(graphene.NonNull(MetadataEntryInput), description=description)


def metadata_field(description: str) -> graphene.NonNull:
    """``metadata: [MetadataEntry!]!``, read from the model's stored entries in their order."""
    return graphene.NonNull(
        graphene.List(graphene.NonNull(MetadataEntry)),
        description=description,
        resolver=_resolve_metadata,
    )


def _resolve_metadata(obj: Any, info: graphene.ResolveInfo) -> list[dict[str, str]]:
    return entries_of(obj.metadata)


CREATE_METADATA = "Labels to keep with it: at most 20, each key once. In the output, in this order."
FILTER_METADATA = "Keeps the items carrying every given key with exactly that value (AND)."
