"""Types the layers share without importing each other (core imports no app).

`WorkspaceLike` is what code below tenants (auditing) needs of a workspace: the schema its
rows live in and its names. `Actor` is who acts, for auditing.services.record: a User, an
ApiKey or its cached form (apikeys.cache.CachedKey), ("operator", who) for an operator or a
script, or None for the system.
"""

from typing import Any, Protocol, TypeAlias


class WorkspaceLike(Protocol):
    pk: Any
    schema_name: str
    slug: str
    name: str
    is_public: bool


# A model row or (type, id) for an audit event's `resource`.
Resource: TypeAlias = Any


Actor: TypeAlias = Any
