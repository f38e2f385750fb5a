"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in ContractCheckTests.

A release may be sent as NDJSON: its example is the text of the lines, sent as it is, as text/plain
would be. Schemathesis has no serializer of its own for application/x-ndjson."""
import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
