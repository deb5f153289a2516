"""One date format for staff, everywhere in the admin: ISO order, seconds, and the time zone.

Django's locale formats win over the DATETIME_FORMAT setting, so the ledger's
own format module (``FORMAT_MODULE_PATH``) sets them for English. The admin's
columns and fields, and ``core.adminkit.instant`` for hand-made tables, all
print "2026-11-25 14:30:05 UTC".
"""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
