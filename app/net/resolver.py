"""Name resolution for the live transport: one bounded look-up per connection, A and AAAA together.

Resolvers are objects with `async resolve(host) -> list[str]`, so tests inject a fake one and never touch real
DNS.
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from ..netpolicy import FetchError

# Every answer is checked, however many there are; past this many (a 64 KiB DNS message holds about 4,000
# A records, real sites have a handful) the name is refused rather than half checked.
MAX_ANSWERS = 1024

# getaddrinfo blocks a thread until the system resolver gives up; a pool of its own keeps slow DNS from taking
# the threads that parse pages.
_DNS_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="pharmacheck-dns")


class Resolver(Protocol):
    async def resolve(self, host: str) -> list[str]: ...


class SystemResolver:
    def __init__(self, timeout: float = 5.0):
        self.timeout = timeout

    async def resolve(self, host: str) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.run_in_executor(
                    _DNS_THREADS, lambda: socket.getaddrinfo(host, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
                ),
                timeout=self.timeout,
            )
        except (socket.gaierror, UnicodeError, OSError):
            raise FetchError("dns_error", f"The name {host} could not be resolved.") from None
        except asyncio.TimeoutError:
            raise FetchError("dns_error", f"Resolving {host} took too long.") from None
        addresses: list[str] = []
        for family, *_rest, sockaddr in infos:
            if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in addresses:
                addresses.append(sockaddr[0])
        return addresses
