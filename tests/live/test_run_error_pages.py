"""What `make run` shows for a page that does not exist: the styled 404 on every host, never
Django's debug page (issue 23 found it on the public host). make run serves config.settings.local
under scripts/run.py's RUN_ENV; so does this gunicorn."""

import pytest

from scripts.run import RUN_ENV

pytestmark = pytest.mark.live


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_make_runs_404_is_the_styled_page_not_djangos_debug_page(gunicorn_factory, host):
    # given the app served as make run serves it
    server = gunicorn_factory(workers=1, env={"DJANGO_SETTINGS_MODULE": "config.settings.local", **RUN_ENV})
    # when a visitor mistypes an address on the public host
    response = server.get("/no-such-page/", host=host)
    # then they get the site's own 404 page, with no URL patterns or settings shown
    page = response.body.decode()
    assert response.status == 404
    assert "<h1>Page not found</h1>" in page
    assert "Using the URLconf" not in page and "DEBUG = True" not in page
