"""Money controls (issue 11): holds the client captures, partial reversals, captured and reversed amounts.

Existing posted transactions moved their whole amount: ``captured_amount`` is
their amount, and a REVERTED one was reversed in full. On SQLite the new
columns and CHECKs rebuild the table, which drops its triggers: the last
operation puts 0002's back (``transactions.triggers.SQLITE_REBUILT``).
"""

import django.db.models.deletion
from django.db import migrations, models

from transactions.triggers import SQLITE_REBUILT

BACKFILL = [
    "UPDATE transactions_transaction SET captured_amount = amount WHERE status IN ('COMPLETED', 'REVERTED')",
    "UPDATE transactions_transaction SET reversed_amount = amount WHERE status = 'REVERTED'",
]


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_money_controls'),
        ('transactions', '0006_ledger_feed'),
    ]

    operations = [
        migrations.AddField(
            model_name='transaction',
            name='capture_mode',
            field=models.CharField(choices=[('AUTOMATIC', 'Automatic'), ('MANUAL', 'Manual')], default='AUTOMATIC', max_length=10),
        ),
        migrations.AddField(
            model_name='transaction',
            name='captured_amount',
            field=models.BigIntegerField(blank=True, help_text='Centavos that moved (a partial capture moves less than amount).', null=True),
        ),
        migrations.AddField(
            model_name='transaction',
            name='hold_expires_at',
            field=models.DateTimeField(blank=True, help_text='When a MANUAL hold lapses.', null=True),
        ),
        migrations.AddField(
            model_name='transaction',
            name='reversed_amount',
            field=models.BigIntegerField(default=0, help_text="Sum of this transaction's REVERSALs, centavos."),
        ),
        migrations.AddField(
            model_name='transaction',
            name='capture_key',
            field=models.CharField(blank=True, max_length=360, null=True),
        ),
        migrations.AlterField(
            model_name='transaction',
            name='failure_reason',
            field=models.CharField(blank=True, choices=[('INSUFFICIENT_FUNDS', 'Insufficient Funds'), ('CANCELLED', 'Cancelled'), ('EXPIRED', 'Expired')], max_length=20, null=True),
        ),
        migrations.AlterField(
            model_name='transaction',
            name='reverses',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reversals', to='transactions.transaction'),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name='transaction',
            index=models.Index(condition=models.Q(('status', 'PENDING')), fields=['hold_expires_at', 'id'], name='transaction_pending_expiry'),
        ),
        migrations.AddConstraint(
            model_name='transaction',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status__in', ['COMPLETED', 'REVERTED']), ('captured_amount__gt', 0), ('captured_amount__lte', models.F('amount'))), models.Q(models.Q(('status__in', ['COMPLETED', 'REVERTED']), _negated=True), ('captured_amount__isnull', True)), _connector='OR'), name='transaction_captured_iff_posted'),
        ),
        migrations.AddConstraint(
            model_name='transaction',
            constraint=models.CheckConstraint(condition=models.Q(('reversed_amount', 0), models.Q(('reversed_amount__gt', 0), ('reversed_amount__lte', models.F('captured_amount'))), _connector='OR'), name='transaction_reversed_within_captured'),
        ),
        migrations.AddConstraint(
            model_name='transaction',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'REVERTED'), ('reversed_amount', models.F('captured_amount'))), models.Q(models.Q(('status', 'REVERTED'), _negated=True), models.Q(('reversed_amount', models.F('captured_amount')), _negated=True)), ('captured_amount__isnull', True), _connector='OR'), name='transaction_reverted_iff_fully_reversed'),
        ),
        migrations.AddConstraint(
            model_name='transaction',
            constraint=models.CheckConstraint(condition=models.Q(('hold_expires_at__isnull', True), ('capture_mode', 'MANUAL'), _connector='OR'), name='transaction_hold_expiry_only_manual'),
        ),
        migrations.AddConstraint(
            model_name='transaction',
            constraint=models.UniqueConstraint(condition=models.Q(('capture_key__isnull', False)), fields=('capture_key',), name='transaction_capture_idempotency'),
        ),
        SQLITE_REBUILT.operation(),
    ]
