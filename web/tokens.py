"""Bearer tokens of the API: `Authorization: Bearer hmt_<id>_<secret>`.

The database keeps only sha256(token) (billing.api_token, issued by billing.issue_token); the
check fetches the digest of token <id> and compares it with sha256 of the presented token in
constant time. Kinds: `device` (posts usage for one device, acts on its own queue agent),
`account` (reads one account's reports), `domain_admin` (acts on every queue agent and queue of
one domain).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import tuple_row

_TOKEN_RE = re.compile(r"^hmt_([0-9]{1,18})_([0-9a-f]{64})$")
_NO_DIGEST = b"\0" * 32


@dataclass(frozen=True)
class Principal:
    kind: str  # "device" | "account" | "domain_admin"
    subject_id: int  # cfg.device.id | billing.account.id | cfg.domain.id


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate(conn: psycopg.Connection[Any], token: str | None) -> Principal | None:
    """The principal a token stands for, or None (malformed, unknown, revoked or wrong secret)."""
    if token is None:
        return None
    match = _TOKEN_RE.match(token)
    if match is None:
        return None
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(
            "SELECT kind, subject_id, token_sha256 FROM billing.token_digest(%s)",
            (int(match.group(1)),),
        )
        row = cur.fetchone()
    presented = hashlib.sha256(token.encode()).digest()
    stored = bytes(row[2]) if row else _NO_DIGEST
    if not hmac.compare_digest(presented, stored) or row is None:
        return None
    return Principal(kind=row[0], subject_id=int(row[1]))
