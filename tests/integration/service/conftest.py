"""The seeds' world (staff with tokens, a register, a model) for the service's own tests."""

from tests.integration.requests.conftest import lifecycle

__all__ = ["lifecycle"]
