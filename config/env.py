"""The one place settings read the environment (django-environ)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Like cookiecutter-django: a .env file is read only when asked to, so a stray file
# never changes a production process behind the operator's back.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))
