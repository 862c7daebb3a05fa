"""The service's web layer: what every capability's pages share.

- :mod:`caldicott.web.templating`: the Jinja2 environment (NHS.UK macros from
  ``nhsuk-frontend-jinja``) and :func:`~caldicott.web.templating.render`;
  ``templates/layout.html`` is the base layout, ``templates/forms.html`` the error summary.
- :mod:`caldicott.web.deps`: :func:`~caldicott.web.deps.page_router` (CSRF checked on
  every form, HTML errors, not in OpenAPI) and ``Person`` (the signed-in person).
- :mod:`caldicott.web.cookies`: the session cookie and the CSRF token.
- :mod:`caldicott.web.home`: the home page's links (:func:`~caldicott.web.home.register_link`).
- :mod:`caldicott.web.errors`: the NHS.UK-style error pages (403, 404, 500 ...).
- :mod:`caldicott.web.assets`: ``/assets`` (the npm ``nhsuk-frontend``, installed by
  ``make install``).

Sign-in itself (passwords, TOTP, sessions) is a use case of people and access:
:mod:`caldicott.access.sign_in` and its pages, :mod:`caldicott.access.pages`. The README's
"Pages" section says how a capability adds its pages.
"""
