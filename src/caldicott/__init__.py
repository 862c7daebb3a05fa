"""caldicott: a disclosure-control gateway for confidential patient data."""

__version__ = "0.1.0"
