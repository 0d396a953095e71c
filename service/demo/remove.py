"""Demo credentials in a production database: found, named, and removed.

`seed-demo` refuses production, but a database seeded once (a laptop's dump restored, a
`seed-demo` run with the production DATABASE_URL and no SMALLFAVOR_ENV) keeps a staff login
and an admin token that the README publishes. Production refuses to serve while they work:
the web app does not start, /readyz says why, and staff pages and the admin API answer 503
(service/demo/guard.py). `smallfavor remove-demo` takes them away, in any mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.demo.seed import DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOKEN_NAME, token_path
from service.store.sql.demo_credentials import DemoCredentialStore, DemoToken
from service.wiring import Services

REMOVE_COMMAND = "smallfavor remove-demo"


class DemoCredentialsPresent(RuntimeError):
    """Production found working demo credentials; the message names them and the remedy."""


@dataclass(frozen=True, slots=True)
class DemoLeftovers:
    user: bool
    tokens: tuple[DemoToken, ...]

    def __bool__(self) -> bool:
        return self.user or bool(self.tokens)

    def describe(self) -> str:
        found = []
        if self.user:
            found.append(f"the staff user {DEMO_EMAIL} with the published demo password")
        found += [f"the admin API token {t.name!r} ({t.prefix}…)" for t in self.tokens]
        return (
            f"demo credentials exist in production: {'; '.join(found)}. "
            f"Remove them with `{REMOVE_COMMAND}`"
        )


def find_leftovers(svc: Services) -> DemoLeftovers:
    store = DemoCredentialStore(svc.engine)
    user = store.user(DEMO_EMAIL, DEMO_PASSWORD)
    return DemoLeftovers(
        user=user is not None and user.enabled and user.published_password_works,
        tokens=tuple(store.active_tokens(DEMO_TOKEN_NAME, _token_from_file(svc))),
    )


def remove_demo(svc: Services) -> list[str]:
    """Disable the demo user, revoke every demo token, delete the token file; returns what
    was done, one line each (empty when there was nothing to remove)."""
    store = DemoCredentialStore(svc.engine)
    done = []
    user = store.user(DEMO_EMAIL, DEMO_PASSWORD)
    # Also a disabled user that still has the published password: re-enabling it would
    # bring the credential back.
    if user is not None and (user.enabled or user.published_password_works):
        store.disable_user(DEMO_EMAIL)
        done.append(f"disabled the staff user {DEMO_EMAIL} and replaced its password")
    tokens = store.active_tokens(DEMO_TOKEN_NAME, _token_from_file(svc))
    store.revoke_tokens([t.id for t in tokens], svc.clock())
    done += [f"revoked the admin API token {t.name!r} ({t.prefix}…)" for t in tokens]
    path = token_path(svc)
    if path.exists():
        path.unlink()
        done.append(f"deleted {path}")
    return done


def _token_from_file(svc: Services) -> tuple[str, ...]:
    try:
        token = token_path(svc).read_text().strip()
    except OSError:  # no file (production, as it should be) or unreadable: nothing to match
        return ()
    return (token,) if token else ()
