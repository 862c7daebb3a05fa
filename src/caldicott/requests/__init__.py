"""Trace requests end to end: intake, decision, trace, review, minimal release."""
