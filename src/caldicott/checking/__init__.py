"""The status-check channel: an overseas visitors manager (or a council's or housing
association's officer) asks the Home Office checking service about a person; the
checking-service agreement and the organisation's own memorandum decide; only the
agreement's fields leave; every check is a ledger disclosure and a metered call."""
