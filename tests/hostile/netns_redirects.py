"""Run inside a private network namespace by test_http_hostile.py (never on the host's network):

    unshare --net --mount sh -c 'ip link set lo up; ip addr add 8.8.8.8/32 dev lo;
        mount --bind HOSTS /etc/hosts; python tests/hostile/netns_redirects.py'

In the namespace 8.8.8.8 is a local address, so a feed server there looks public to the fetcher
while 127.0.0.1 stays private, and HOSTS maps `rebind.test` to 127.0.0.1. Nothing leaves the
namespace. Prints one JSON object: case name -> [status, error] of fetching it.
"""

from __future__ import annotations

import ipaddress
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from feedserver import FeedServer  # noqa: E402

from aggregator import fetch as fetch_module  # noqa: E402
from aggregator.models import FetchRequest, FetchSettings  # noqa: E402

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>a</title></item></channel></rss>'


def main() -> None:
    real_addresses = fetch_module._addresses

    async def rebinding_dns(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        # A rebinding DNS server: `rebind.test` is public when the redirect is checked; when httpx
        # connects, the system resolver (HOSTS) answers 127.0.0.1.
        if host == "rebind.test":
            return [ipaddress.ip_address("1.1.1.1")]
        return await real_addresses(host)

    fetch_module._addresses = rebinding_dns  # type: ignore[assignment]
    settings = FetchSettings(timeout=5, max_bytes=1_000_000, concurrency=4)
    with FeedServer(host="8.8.8.8") as public, FeedServer() as private:
        private.add("/secret.xml", FEED)
        secret = private.url("/secret.xml")
        public.add("/feed.xml", FEED)
        public.add("/to-loopback.xml", status=302, headers={"Location": secret})
        public.add("/to-rebind.xml", status=302, headers={"Location": f"http://rebind.test:{private.port}/secret.xml"})
        public.add("/to-public.xml", status=302, headers={"Location": public.url("/feed.xml")})
        private.add("/to-private.xml", status=302, headers={"Location": f"http://localhost:{private.port}/secret.xml"})
        cases = {
            "public feed": public.url("/feed.xml"),
            "public redirects within public": public.url("/to-public.xml"),
            "public redirects to loopback": public.url("/to-loopback.xml"),
            "public redirects to a rebinding name": public.url("/to-rebind.xml"),
            "private redirects within private": private.url("/to-private.xml"),
        }
        results = fetch_module.fetch_all([FetchRequest(url=u) for u in cases.values()], settings)
        secret_requests = sum(1 for r in private.requests if r.path == "/secret.xml")
    out = {name: [r.status, r.error] for name, r in zip(cases, results, strict=True)}
    out["secret requests"] = [secret_requests, None]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
