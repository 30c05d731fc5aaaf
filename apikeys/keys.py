"""Key text and digests.

`tg_<env>_<id>_<secret>`: id is 12 characters of [a-z0-9] (the lookup index, shown as
the prefix); secret is 43 base62 characters (~256 bits). Keys are high-entropy, so a
fast keyed digest (HMAC-SHA-256 with a server-side pepper) is right: a slow password
hash would cost tens of ms per request and protect nothing more.
"""

import functools
import hashlib
import hmac
import re
import secrets
import string
from typing import NamedTuple

from core import hot_settings

_ID_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 12
SECRET_LENGTH = 43  # log2(62) * 43 = 256 bits
ENVIRONMENTS = ("live", "test")
_KEY = re.compile(rf"tg_({'|'.join(ENVIRONMENTS)})_([a-z0-9]{{{ID_LENGTH}}})_([A-Za-z0-9]{{{SECRET_LENGTH}}})")


class ParsedKey(NamedTuple):
    environment: str
    key_id: str
    secret: str


def generate() -> tuple[str, str, str]:
    """(key_id, secret, digest) for a new key."""
    key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    return key_id, secret, digest(secret)


def render(environment: str, key_id: str, secret: str) -> str:
    return f"tg_{environment}_{key_id}_{secret}"


@functools.lru_cache(maxsize=2)
def _keyed(pepper: str) -> hmac.HMAC:
    return hmac.new(pepper.encode(), digestmod=hashlib.sha256)


# What an unknown key id's secret is compared with (apikeys.authentication.verify: an unknown
# id costs the same HMAC as a wrong secret): never a real digest, those are hex.
DUMMY_DIGEST = "-" * 64


def digest(secret: str) -> str:
    # A copy of an HMAC already keyed with the pepper: 1.3 us against 1.9 us for the one-shot
    # hmac.digest, which sets OpenSSL's HMAC up from the key on every call.
    mac = _keyed(hot_settings.get("API_KEY_PEPPER")).copy()
    mac.update(secret.encode())
    return mac.hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)


def parse(text: str) -> ParsedKey | None:
    """The parts of a well-formed key, or None."""
    match = _KEY.fullmatch(text) if text else None
    return ParsedKey(*match.groups()) if match else None
