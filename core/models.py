"""The one model of the ground floor: sharded counters for O(1) totals."""

from __future__ import annotations

from django.db import models


class Counter(models.Model):
    """A sharded counter: ``total(name)`` is a SUM over a handful of slots.

    A single global row would serialize every transfer on its lock; each writer
    bumps one slot (chosen by its connection), so writers rarely meet.
    """

    name = models.CharField(max_length=32)
    slot = models.SmallIntegerField()
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="counter_name_slot_unique")]

    def __str__(self) -> str:
        return f"{self.name}[{self.slot}] = {self.value}"
