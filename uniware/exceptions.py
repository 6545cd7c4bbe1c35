"""Uniware-side failures: of a whole run (a message a seller can act on) and of one request.

Hierarchy::

    UniwareError              anything Uniware-side that stops the run
    ├── ConfigurationError    missing or unsafe UNIWARE_* setting (names the variable and the fix)
    ├── CredentialsRefused    401 / AUTHENTICATION_FAILURE / ACCESS_DENIED: wrong client id,
    │                         merchant id or security key
    ├── UniwareUnreachable    cannot connect at all (DNS, refused, TLS)
    ├── LedgerFailed          the ledger stopped taking reads or writes mid-run
    └── SharedLimitFailed     the rate limit shared with other workers is missing, unusable
                              or unreachable (its server, e.g. Prefect's, names the fix)

    httpx.TransportError      one request's failure: retried by uniware.retry, then an outcome
    ├── AnswerUnknown         an answer saying neither success nor failure: order may exist
    └── httpx.TimeoutException
        ├── RequestDeadline   the whole request took longer than its deadline
        └── BudgetSpent       a try cut off because the retry budget ran out
    (these three are httpx's own kinds, defined where httpx is used: AnswerUnknown and
    RequestDeadline in uniware.client, BudgetSpent in uniware.retry; this module stays free
    of httpx, since `uniload --help` imports it and must not load httpx)

    RuntimeError              the ledger database cannot be used at all (found when opening it)
    ├── LedgerTooNew          written by a newer uniload than this one
    └── NotALedger            a table of the ledger's name that no uniload version made

Per-order business failures (``"status": "failure"``) are never exceptions: they are
``uniware.client.PostResponse`` data. Messages never contain the security key. Every
exception takes one message argument, so it pickles (Prefect may move it between processes).
"""

from __future__ import annotations

from uniware.redact import redact


class UniwareError(Exception):
    """A Uniware-side failure of the whole run; ``str(err)`` is shown to the seller as is."""

    def __init__(self, message: str = "") -> None:
        super().__init__(redact(message))  # no key nor URL password in any message


class ConfigurationError(UniwareError):
    """A missing or unsafe Uniware setting."""

    @classmethod
    def missing_variable(cls, name: str) -> ConfigurationError:
        """The environment variable ``name`` is not set."""
        return cls(
            f"{name} is not set: export {name}=... in the shell (or the worker's environment) "
            "before running; ask Unicommerce for the value if you do not have it"
        )


class CredentialsRefused(UniwareError):
    """Uniware refused the client id, merchant id or security key."""

    @classmethod
    def for_merchant(cls, *, base_url: str, merchant_id: str, reply: str) -> CredentialsRefused:
        """Uniware at ``base_url`` refused ``merchant_id``'s credentials, saying ``reply``."""
        return cls(
            f"Uniware at {base_url} refused the credentials of merchant {merchant_id!r} "
            f"({reply}): check UNIWARE_CLIENT_ID, UNIWARE_MERCHANT_ID and UNIWARE_SECURITY_KEY"
        )


class UniwareUnreachable(UniwareError):
    """No connection to Uniware could be made at all."""

    @classmethod
    def at(cls, base_url: str, reason: str) -> UniwareUnreachable:
        """Connecting to ``base_url`` failed because of ``reason``."""
        return cls(
            f"cannot reach Uniware at {base_url} ({reason}): check UNIWARE_BASE_URL and the "
            "network connection, then run again"
        )


class LedgerFailed(UniwareError):
    """The ledger failed mid-run: posting stops, so no order is sent without a record."""

    @classmethod
    def at(cls, location: str, error: BaseException) -> LedgerFailed:
        """The ledger at ``location`` failed with ``error``."""
        what = "its database server, database and table" if "://" in location else "the file"
        return cls(
            f"the ledger {location} failed ({ledger_reason(error)}): posting stopped. Fix it "
            f"(disk space, permissions, {what}) and run the same command again: that "
            "finishes the job, and orders this run left in doubt are settled without duplicates"
        )


class LedgerTooNew(RuntimeError):
    """The ledger was written by a newer uniload than this one."""


class NotALedger(RuntimeError):
    """The database holds a table of the ledger's name that no uniload version made."""


class SharedLimitFailed(UniwareError):
    """The rate limit shared by workers cannot pace this run: posting stops before sending."""


def ledger_reason(error: BaseException) -> str:
    """The database's own words for a ledger failure, on one line, without the SQL."""
    cause = getattr(error, "orig", None) or error
    text = " ".join(str(cause).split())
    return text.split(" [SQL:")[0][:300] or type(error).__name__
