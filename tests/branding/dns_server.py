"""A tiny authoritative DNS server on loopback (UDP), for custom-domain verification tests.

Answers TXT questions from `records` ({name: [txt values]}); a name not in it is NXDOMAIN;
a name in `silent` gets no answer at all (the resolver times out). Built on dnslib's wire
format; not a stub of our code: dnspython talks to it over a real socket.
"""

import socket
import threading

from dnslib import QTYPE, RCODE, RR, TXT, DNSRecord


class LoopbackDns:
    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.silent: set[str] = set()
        self.queries: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> "LoopbackDns":
        self.sock.settimeout(0.1)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                request = DNSRecord.parse(data)
            except Exception:  # noqa: BLE001 - a malformed packet is dropped, as a server would
                continue
            name = str(request.q.qname).rstrip(".").lower()
            self.queries.append(name)
            if name in self.silent:
                continue
            reply = request.reply()
            if name not in self.records:
                reply.header.rcode = RCODE.NXDOMAIN
            elif request.q.qtype == QTYPE.TXT:
                for value in self.records[name]:
                    reply.add_answer(RR(name, QTYPE.TXT, rdata=TXT(value), ttl=60))
            self.sock.sendto(reply.pack(), peer)
