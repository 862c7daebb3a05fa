"""``caldicott user`` and ``caldicott token``: accounts and their API tokens."""

from __future__ import annotations

import typer

user_app = typer.Typer(name="user", help="User accounts, each in one organisation, with roles.",
                       no_args_is_help=True)
token_app = typer.Typer(name="token", help="API tokens: shown once, stored only as a hash.",
                        no_args_is_help=True)

_ROLES = ("requesting_officer, tracer, reviewer, overseas_visitors_manager, auditor, "
          "administrator; repeat for several")


@user_app.command("add")
def user_add(
    email: str = typer.Argument(..., help="The user's e-mail address (their login name)"),
    org: str = typer.Option(..., "--org", help="Organisation code (see `caldicott org list`)"),
    role: list[str] = typer.Option(..., "--role", help=_ROLES),
    name: str | None = typer.Option(None, "--name", help="Display name"),
) -> None:
    """Create a user account (recorded in the ledger)."""
    from caldicott.access.cli_support import command_session
    from caldicott.access.service import register_user
    from caldicott.settings import Settings

    settings = Settings()
    with command_session(settings) as session:
        user = register_user(session, settings, email, org, role, name=name)
        roles = ", ".join(r.role for r in user.roles)
        typer.echo(f"user {user.email} added to {user.organisation.code} as {roles}")


@user_app.command("list")
def user_list() -> None:
    """List user accounts."""
    from caldicott.access.cli_support import command_session
    from caldicott.access.service import list_users

    with command_session() as session:
        users = list_users(session)
        if not users:
            typer.echo("no users yet; add one with `caldicott user add`")
            return
        typer.echo(f"{'ID':>4} {'EMAIL':<36} {'ORG':<10} {'ROLES':<34} NAME")
        for user in users:
            roles = ",".join(r.role for r in user.roles)
            disabled = "  (disabled)" if user.disabled_at is not None else ""
            typer.echo(f"{user.id:>4} {user.email:<36} {user.organisation.code:<10} "
                       f"{roles:<34} {user.name}{disabled}")


def _set_disabled(email: str, disabled: bool) -> None:
    from caldicott.access.cli_support import command_session
    from caldicott.access.service import set_disabled
    from caldicott.settings import Settings

    settings = Settings()
    with command_session(settings) as session:
        user, changed = set_disabled(session, settings, email, disabled)
    state = "disabled" if disabled else "enabled"
    if not changed:
        typer.echo(f"user {user.email} was already {state}")
    elif disabled:
        typer.echo(f"user {user.email} disabled: their tokens stop working now")
    else:
        typer.echo(f"user {user.email} enabled: their unexpired, unrevoked tokens work again")


@user_app.command("disable")
def user_disable(
    email: str = typer.Argument(..., help="The user's e-mail address"),
) -> None:
    """Disable a user: every one of their tokens stops working at once (recorded in the
    ledger)."""
    _set_disabled(email, True)


@user_app.command("enable")
def user_enable(
    email: str = typer.Argument(..., help="The user's e-mail address"),
) -> None:
    """Enable a disabled user again (recorded in the ledger)."""
    _set_disabled(email, False)


@user_app.command("remove-role")
def user_remove_role(
    email: str = typer.Argument(..., help="The user's e-mail address"),
    role: str = typer.Option(..., "--role", help="The role to take away"),
) -> None:
    """Take a role away from a user, with effect on their next call (recorded in the
    ledger)."""
    from caldicott.access.cli_support import command_session
    from caldicott.access.service import remove_role
    from caldicott.settings import Settings

    settings = Settings()
    with command_session(settings) as session:
        user = remove_role(session, settings, email, role)
        roles = ", ".join(r.role for r in user.roles)
    typer.echo(f"user {user.email} now holds {roles}")


def _read_password(stdin: bool) -> str:
    import sys

    if stdin:  # for scripts: the first line of standard input, never an argument (ps, history)
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("New password", hide_input=True,
                                 confirmation_prompt="Repeat the password")
    return password


@user_app.command("set-password")
def user_set_password(
    email: str = typer.Argument(..., help="The user's e-mail address"),
    stdin: bool = typer.Option(False, "--stdin", help="Read the password from the first "
                               "line of standard input (for scripts) instead of prompting"),
) -> None:
    """Set a user's password for signing in to the pages (argon2id; at least 12 characters).
    Their page sessions end; recorded in the ledger."""
    from caldicott.access.cli_support import command_session
    from caldicott.access.sign_in import set_password
    from caldicott.settings import Settings

    password = _read_password(stdin)
    settings = Settings()
    with command_session(settings) as session:
        user = set_password(session, settings, email, password)
    typer.echo(f"password set for {user.email}")


@user_app.command("totp")
def user_totp(
    email: str = typer.Argument(..., help="The user's e-mail address"),
) -> None:
    """Enrol a user's security code app (TOTP): prints the otpauth URI and secret once.
    Required for reviewers, auditors and administrators; replaces any earlier one."""
    from caldicott.access.cli_support import command_session
    from caldicott.access.core.sign_in import totp_uri
    from caldicott.access.sign_in import enrol_totp
    from caldicott.settings import Settings

    settings = Settings()
    with command_session(settings) as session:
        user, secret = enrol_totp(session, settings, email)
        address = user.email
    typer.echo(totp_uri(secret, address))
    typer.echo(f"TOTP secret for {address}: {secret}. It is shown only now: add it to their "
               "authenticator app (the URI above, as a QR code or typed in).", err=True)


@user_app.command("reset")
def user_reset(
    email: str = typer.Argument(..., help="The user's e-mail address"),
) -> None:
    """Clear a user's password and TOTP and end their page sessions (a lost phone, a
    forgotten password); recorded in the ledger. Their API tokens are not touched."""
    from caldicott.access.cli_support import command_session
    from caldicott.access.sign_in import reset_sign_in
    from caldicott.settings import Settings

    settings = Settings()
    with command_session(settings) as session:
        user, ended = reset_sign_in(session, settings, email)
    typer.echo(f"sign-in of {user.email} reset: password and TOTP cleared, {ended} page "
               "session(s) ended")


@token_app.command("create")
def token_create(
    user: str = typer.Option(..., "--user", help="E-mail of the user the token acts for"),
    days: int | None = typer.Option(None, "--days", help="Days until it expires (default 90)"),
    label: str = typer.Option("", "--label", help="What the token is for, e.g. 'batch job'"),
    scope: str = typer.Option(
        "full", "--scope", help="What it may be used for: read (GET only), submit (read and "
        "submit requests), review (read, trace and review) or full (all the user's roles "
        "allow)"),
) -> None:
    """Create an API token and print it once (stdout); details go to stderr."""
    from caldicott.access.cli_support import command_session
    from caldicott.access.service import issue_token
    from caldicott.settings import Settings

    settings = Settings()
    with command_session(settings) as session:
        issued = issue_token(session, settings, user, days=days, label=label, scope=scope)
    # The token alone on stdout, so `TOKEN=$(caldicott token create ...)` works.
    typer.echo(issued.token)
    typer.echo(f"token {issued.id} ({issued.scope.value}) for {issued.user_email}, expires "
               f"{issued.expires_at:%Y-%m-%d %H:%M} UTC. It is shown only now: store it "
               "safely. Send it as 'Authorization: Bearer <token>'.", err=True)


@token_app.command("revoke")
def token_revoke(
    token_id: str = typer.Argument(..., help="The token's id, or the leaked token itself"),
) -> None:
    """Revoke an API token at once (recorded in the ledger)."""
    from caldicott.access.cli_support import command_session
    from caldicott.access.service import revoke_token_recorded
    from caldicott.settings import Settings

    settings = Settings()
    with command_session(settings) as session:
        row, already = revoke_token_recorded(session, settings, token_id)
        when = f"{row.revoked_at:%Y-%m-%d %H:%M:%S} UTC"
        if already:
            typer.echo(f"token {row.id} was already revoked at {when}")
        else:
            typer.echo(f"token {row.id} ({row.display_prefix}...) revoked at {when}")


@token_app.command("revoke-all")
def token_revoke_all(
    user: str = typer.Option(..., "--user", help="E-mail of the user whose tokens to revoke"),
) -> None:
    """Revoke every token of a user at once (recorded in the ledger)."""
    from caldicott.access.cli_support import command_session
    from caldicott.access.service import revoke_all_tokens
    from caldicott.settings import Settings

    settings = Settings()
    with command_session(settings) as session:
        found, count = revoke_all_tokens(session, settings, user)
    if count:
        typer.echo(f"{count} token(s) of {found.email} revoked")
    else:
        typer.echo(f"{found.email} had no token left to revoke")


@token_app.command("list")
def token_list(
    user: str | None = typer.Option(None, "--user", help="Only this user's tokens"),
) -> None:
    """List API tokens (never the tokens themselves)."""
    from caldicott.access.cli_support import command_session
    from caldicott.access.service import list_tokens
    from caldicott.db import utcnow

    with command_session() as session:
        rows = list_tokens(session, user)
        if not rows:
            typer.echo("no API tokens; create one with `caldicott token create`")
            return
        now = utcnow()
        typer.echo(f"{'ID':>4} {'PREFIX':<13} {'USER':<36} {'STATUS':<8} {'SCOPE':<6} "
                   f"{'EXPIRES':<17} {'LAST USED':<17} LABEL")
        for row in rows:
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
            status = row.status(now, user_disabled=row.user.disabled_at is not None)
            typer.echo(f"{row.id:>4} {row.display_prefix + '...':<13} {row.user.email:<36} "
                       f"{status:<8} {row.scope:<6} {row.expires_at:%Y-%m-%d %H:%M} "
                       f"{used:<17} {row.label}")


def register(root: typer.Typer) -> None:
    root.add_typer(user_app)
    root.add_typer(token_app)
