"""Money controls (issue 11): account status (ACTIVE, FROZEN, CLOSED) with its reason, credit limits, their permissions."""

import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_records_metadata'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='account',
            options={'permissions': [('change_account_status', 'Can freeze, unfreeze and close an account'), ('change_credit_limit', "Can set an account's credit limit")]},
        ),
        migrations.RemoveConstraint(
            model_name='account',
            name='account_customer_never_negative',
        ),
        migrations.AddField(
            model_name='account',
            name='closed_at',
            field=models.DateTimeField(blank=True, help_text='When the account was closed.', null=True),
        ),
        migrations.AddField(
            model_name='account',
            name='credit_limit',
            field=models.BigIntegerField(default=0, help_text='Overdraft granted, in centavos (>= 0).'),
        ),
        migrations.AddField(
            model_name='account',
            name='status',
            field=models.CharField(choices=[('ACTIVE', 'Active'), ('FROZEN', 'Frozen'), ('CLOSED', 'Closed')], default='ACTIVE', max_length=10),
        ),
        migrations.AddField(
            model_name='account',
            name='status_reason',
            field=models.CharField(blank=True, max_length=500, null=True),
        ),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.CheckConstraint(condition=models.Q(('kind', 'SETTLEMENT'), models.Q(('held__gte', 0), ('balance__gte', django.db.models.expressions.CombinedExpression(models.F('credit_limit'), '*', models.Value(-1))), ('balance__gte', django.db.models.expressions.CombinedExpression(models.F('held'), '-', models.F('credit_limit')))), _connector='OR'), name='account_customer_within_credit_limit'),
        ),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.CheckConstraint(condition=models.Q(('credit_limit__gte', 0)), name='account_credit_limit_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['ACTIVE', 'FROZEN', 'CLOSED'])), name='account_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'CLOSED'), _negated=True), models.Q(('balance', 0), ('held', 0), ('closed_at__isnull', False)), _connector='OR'), name='account_closed_is_empty'),
        ),
    ]
