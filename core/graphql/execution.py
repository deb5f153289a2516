"""The execution context every operation runs with: it owns the operation's loaders.

The HTTP view passes ``execution_context_class=LedgerExecutionContext``, and the
root schema's ``execute`` defaults to it, so each operation gets a fresh
``core.graphql.loaders.Loaders``: batching state never outlives an operation
nor crosses threads.
"""

from __future__ import annotations

from typing import Any

from graphql import ExecutionContext
from graphql.language import OperationDefinitionNode

from core.graphql.loaders import bound_loaders


class LedgerExecutionContext(ExecutionContext):
    def execute_operation(self, operation: OperationDefinitionNode, root_value: Any) -> Any:
        # Resolvers are synchronous (no async view), so the whole result is built inside this block.
        with bound_loaders():
            return super().execute_operation(operation, root_value)
