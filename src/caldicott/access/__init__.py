"""People and access: users with roles, API tokens, and who may do what.

``core`` holds the pure policy (roles, the access matrix, separation of duties,
the token format); ``models``/``repository``/``service`` store users and
tokens; ``deps`` gives every route ``CurrentUser``, ``require_role`` and
``require_same_org``.
"""
