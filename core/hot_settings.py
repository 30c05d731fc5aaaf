"""Django settings the request path reads on every request: read once, and again after
`setting_changed` (what override_settings and pytest-django's `settings` fixture send).

`settings.X` goes through LazySettings.__getattribute__ on every read, ~4k instructions,
and a metered request reads AUTH_CACHE_TTL twice and API_KEY_PEPPER once.
"""

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_read: dict = {}


def get(name: str):
    try:
        return _read[name]
    except KeyError:
        value = _read[name] = getattr(settings, name)
        return value


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs) -> None:
    _read.pop(setting, None)
