import base64
import io

import pytest
from PIL import Image

from tests.branding.dns_server import LoopbackDns


@pytest.fixture
def dns_server(settings):
    """A DNS server on loopback, made the resolver of domain verification (DNS_* settings)."""
    server = LoopbackDns().start()
    settings.DNS_NAMESERVERS = ["127.0.0.1"]
    settings.DNS_PORT = server.port
    settings.DNS_TIMEOUT = 1.0
    yield server
    server.stop()


def png_bytes(size=(40, 20), color=(200, 30, 30, 255), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, format="PNG", **save)
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
