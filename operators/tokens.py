"""Operator token text: `tg_op_<id>_<secret>`, id and secret as in an API key (apikeys.keys:
12 characters of [a-z0-9], 43 base62 characters, ~256 bits), digested the same way (HMAC-SHA-256
with the key pepper). `op` is no key environment, so apikeys.keys.parse refuses a token and
this module refuses a key: neither credential works on the other's API."""

import re
from typing import NamedTuple

from apikeys import keys

PREFIX = "tg_op_"
_TOKEN = re.compile(rf"{PREFIX}([a-z0-9]{{{keys.ID_LENGTH}}})_([A-Za-z0-9]{{{keys.SECRET_LENGTH}}})")


class ParsedToken(NamedTuple):
    token_id: str
    secret: str


def generate() -> tuple[str, str, str]:
    """(token_id, secret, digest) for a new token."""
    return keys.generate()


def render(token_id: str, secret: str) -> str:
    return f"{PREFIX}{token_id}_{secret}"


def parse(text: str) -> ParsedToken | None:
    match = _TOKEN.fullmatch(text) if text else None
    return ParsedToken(*match.groups()) if match else None


def matches(secret: str, stored_digest: str) -> bool:
    return keys.matches(secret, stored_digest)


DUMMY_DIGEST = keys.DUMMY_DIGEST
