"""The home page's links: each capability registers what it offers, once, at import.

    from caldicott.web.home import HomeLink, register_link

    register_link(HomeLink(title="Submit a trace request", href="/requests/new",
                           description="Ask NHS Digital to trace a person",
                           action=Action.SUBMIT_REQUEST, order=10))

A signed-in person sees the links whose ``action`` the access matrix allows them
(:func:`caldicott.access.core.policy.can`): no list of roles here, no if-chains.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from caldicott.access.core.policy import can
from caldicott.access.core.principal import Principal
from caldicott.access.core.roles import Action

_LINKS: dict[str, HomeLink] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class HomeLink:
    """One thing a person can do, shown on the home page to whoever may do ``action``."""

    title: str
    href: str
    description: str
    action: Action
    order: int = 100


def register_link(link: HomeLink) -> HomeLink:
    """Add (or replace, by ``href``) a home-page link; returns it."""
    with _LOCK:
        _LINKS[link.href] = link
    return link


def links_for(person: Principal) -> list[HomeLink]:
    """The links ``person`` may follow, in ``order`` then title.

    Example:
        >>> links_for(officer)[0].title  # doctest: +SKIP
        'Submit a trace request'
    """
    with _LOCK:
        links = list(_LINKS.values())
    return sorted((link for link in links if can(person, link.action)),
                  key=lambda link: (link.order, link.title))
