"""Synthetic UK people and noisy look-ups of them: the test bed for matching
(pure: standard library, Faker's name data and the register's value objects)."""

from caldicott.synth.people import generate_people
from caldicott.synth.queries import Query, generate_queries

__all__ = ["Query", "generate_people", "generate_queries"]
