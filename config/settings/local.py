"""Development: `make run` sets DATABASE_URL, REDIS_URL and DJANGO_SECRET_KEY (see scripts/devservices.py)."""

from config.env import env
from config.settings.base import *  # noqa: F403

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SITE_URL_TEMPLATE = env("TOLLGATE_SITE_URL_TEMPLATE", default="http://{host}:" + env("PORT", default="8000"))
WHITENOISE_USE_FINDERS = True
