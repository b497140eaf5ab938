"""Run-time settings shared by the CLI, the API and batches.

Every setting has an embedded default so `pharmacheck serve` runs on a fresh machine with no configuration;
the service reads overrides from `PHARMACHECK_*` environment variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


class SettingsError(ValueError):
    """An option has a value that cannot be used; the message says which option and why."""


@dataclass(frozen=True)
class ResolveEntry:
    host: str
    port: int
    address: str


def parse_resolve(value: str) -> ResolveEntry:
    """Parse curl's HOST:PORT:ADDRESS (ADDRESS may be a bracketed IPv6 literal)."""
    import ipaddress

    host, sep, rest = value.partition(":")
    port_text, sep2, address = rest.partition(":")
    if not (sep and sep2 and host and port_text and address):
        raise SettingsError(f"--resolve {value!r}: expected HOST:PORT:ADDRESS, e.g. shop.example:443:127.0.0.2")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SettingsError(f"--resolve {value!r}: port must be a number from 1 to 65535")
    address = address.strip("[]")
    if "%" in address:
        # A zone id names one of this machine's interfaces: an allowance must name an address, nothing local.
        raise SettingsError(f"--resolve {value!r}: IPv6 zone ids (%eth0) are not accepted")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise SettingsError(f"--resolve {value!r}: ADDRESS must be one IP address, not a name or a range") from None
    from .netpolicy import is_metadata_address  # netpolicy imports this module

    if is_metadata_address(address):
        raise SettingsError(f"--resolve {value!r}: cloud metadata addresses can never be contacted")
    if "*" in host:
        raise SettingsError(f"--resolve {value!r}: HOST must be one exact name, not a wildcard")
    return ResolveEntry(host.lower().rstrip("."), int(port_text), address)


def default_data_dir(env: dict[str, str] | None = None) -> str:
    """Where the embedded database lives: $PHARMACHECK_DATA_DIR, else the XDG data folder of this user."""
    env = os.environ if env is None else env
    if env.get("PHARMACHECK_DATA_DIR"):
        return env["PHARMACHECK_DATA_DIR"]
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "pharmacheck")


@dataclass(frozen=True)
class Settings:
    rules_path: str | None = None
    known_sites_path: str | None = None
    max_pages: int | None = None  # None: the crawl budget from rules.yaml
    page_timeout: float = 10.0
    check_timeout: float = 30.0
    connect_timeout: float = 5.0
    dns_timeout: float = 5.0
    read_timeout: float = 8.0
    max_bytes: int = 2 * 1024 * 1024
    max_decoded_bytes: int = 2 * 1024 * 1024
    max_redirects: int = 5
    allowed_ports: tuple[int, ...] | None = (80, 443)  # None: any port (replays only, see app/service.py)
    resolve: tuple[ResolveEntry, ...] = ()
    cacert: str | None = None
    user_agent: str = "pharmacheck/0.1 (+online pharmacy legitimacy checker)"
    max_concurrent_fetches: int = 32
    max_concurrent_per_host: int = 4
    record_path: str | None = None
    replay_paths: tuple[str, ...] = ()
    cache_ttl: int = 3600
    # Ask the registries a site claims (LegitScript, GPhC, ...) whether they list it; off by default because
    # it sends the site's domain to those registries and adds their response time to every check.
    confirm_registries: bool = False
    public_url: str | None = None  # the service's own origin, for links that leave it (the bookmarklet)
    # API access: with no keys configured the API is open to anyone at the anonymous rate; with keys, requests
    # that present one get the keyed rate and requests without one are refused.
    api_keys: tuple[str, ...] = ()
    rate_limit_anonymous: str = "30/minute"
    rate_limit_keyed: str = "600/minute"
    max_batch_urls: int = 100
    # Request bodies over this size are refused with 413 before they are parsed (100 URLs fit in a few kB).
    max_request_bytes: int = 1024 * 1024
    # The store (app/store): reports, lists and what later checks learn from earlier ones. SQLite in data_dir
    # unless database_url names another database (PostgreSQL for several processes or machines).
    data_dir: str = field(default_factory=default_data_dir)
    database_url: str | None = None
    # Every report is kept in the store (history, graph); off for measurements and throw-away runs.
    store_reports: bool = True
    # Batch jobs (app/jobs). Without redis_url the service checks their items in its own process; with it the
    # service only enqueues, and `pharmacheck worker` processes on any number of machines (sharing one
    # PostgreSQL database) check them, one site at a time across all of them.
    redis_url: str | None = None
    # Names the queue and every key pharmacheck keeps in Redis, so several installations can share one server.
    queue_name: str = "pharmacheck"
    job_concurrency: int = 4  # sites checked at once per process (the service's own runner or one worker)
    max_job_urls: int = 100_000
    # A job's body may be much larger than other requests: 100,000 addresses take a few megabytes.
    max_job_request_bytes: int = 32 * 1024 * 1024
    # A worker holds an item this long and renews the hold while it checks; a dead worker's items go back in
    # the queue when their hold runs out.
    job_lease_seconds: int = 60
    # Checks of one item that may be started before it is given up as `attempts_exhausted` (a site that makes
    # workers crash must not hold the queue for ever).
    job_max_attempts: int = 3
    webhook_max_attempts: int = 8
    webhook_timeout: float = 10.0
    metrics_enabled: bool = True
    # Reputation lists loaded in the store (`pharmacheck lists`) are consulted on every check; how often (seconds)
    # a running service looks whether another process changed them.
    use_lists: bool = True
    lists_refresh_interval: float = 5.0
    # Evaluation only: a site's own list entries are left out when it is judged (leave-one-site-out), so a
    # measure says what the lists and the graph catch about sites they do not list.
    lists_leave_out_own: bool = False
    # The identity graph: look up other sites sharing this one's phones, ids, numbers...; and record each
    # checked site's facts (record_identities) so later checks see them.
    identity_graph: bool = True
    record_identities: bool = True
    extra: dict = field(default_factory=dict)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    def with_data_dir(self, path: str) -> "Settings":
        return replace(self, data_dir=str(path))

    @property
    def effective_database_url(self) -> str:
        """database_url, or the embedded SQLite file in data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.data_dir).expanduser().resolve() / 'pharmacheck.db'}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        kwargs: dict = {}
        if env.get("PHARMACHECK_RULES"):
            kwargs["rules_path"] = env["PHARMACHECK_RULES"]
        if env.get("PHARMACHECK_KNOWN_SITES"):
            kwargs["known_sites_path"] = env["PHARMACHECK_KNOWN_SITES"]
        if env.get("PHARMACHECK_MAX_PAGES"):
            kwargs["max_pages"] = _int(env, "PHARMACHECK_MAX_PAGES", 1, 50)
        if env.get("PHARMACHECK_RESOLVE"):
            kwargs["resolve"] = tuple(parse_resolve(v) for v in env["PHARMACHECK_RESOLVE"].split(",") if v.strip())
        if env.get("PHARMACHECK_ALLOW_PORTS"):
            extra_ports = tuple(_port(p.strip()) for p in env["PHARMACHECK_ALLOW_PORTS"].split(",") if p.strip())
            kwargs["allowed_ports"] = tuple(sorted({80, 443, *extra_ports}))
        if env.get("PHARMACHECK_CACERT"):
            kwargs["cacert"] = env["PHARMACHECK_CACERT"]
        if env.get("PHARMACHECK_CACHE_TTL"):
            kwargs["cache_ttl"] = _int(env, "PHARMACHECK_CACHE_TTL", 0, 7 * 24 * 3600)
        if env.get("PHARMACHECK_PUBLIC_URL"):
            kwargs["public_url"] = _public_url(env["PHARMACHECK_PUBLIC_URL"])
        if env.get("PHARMACHECK_API_KEYS"):
            kwargs["api_keys"] = tuple(k.strip() for k in env["PHARMACHECK_API_KEYS"].split(",") if k.strip())
        for name, key in (("PHARMACHECK_RATE_LIMIT", "rate_limit_anonymous"), ("PHARMACHECK_RATE_LIMIT_KEYED", "rate_limit_keyed")):
            if env.get(name):
                kwargs[key] = _rate(env, name)
        if env.get("PHARMACHECK_REPLAY"):
            kwargs["replay_paths"] = tuple(p for p in env["PHARMACHECK_REPLAY"].split(os.pathsep) if p)
        if env.get("PHARMACHECK_MAX_REQUEST_BYTES"):
            kwargs["max_request_bytes"] = _int(env, "PHARMACHECK_MAX_REQUEST_BYTES", 1024, 64 * 1024 * 1024)
        if env.get("PHARMACHECK_CONFIRM_REGISTRIES", "").lower() in ("1", "true", "yes"):
            kwargs["confirm_registries"] = True
        kwargs["data_dir"] = default_data_dir(env)
        if env.get("PHARMACHECK_DATABASE_URL"):
            kwargs["database_url"] = env["PHARMACHECK_DATABASE_URL"]
        if env.get("PHARMACHECK_STORE_REPORTS"):
            kwargs["store_reports"] = _bool(env, "PHARMACHECK_STORE_REPORTS")
        if env.get("PHARMACHECK_REDIS_URL"):
            kwargs["redis_url"] = _redis_url(env["PHARMACHECK_REDIS_URL"])
        for name, key, lo, hi in (
            ("PHARMACHECK_JOB_CONCURRENCY", "job_concurrency", 1, 256),
            ("PHARMACHECK_MAX_JOB_URLS", "max_job_urls", 1, 1_000_000),
            ("PHARMACHECK_MAX_JOB_REQUEST_BYTES", "max_job_request_bytes", 1024, 1024 * 1024 * 1024),
            ("PHARMACHECK_JOB_LEASE_SECONDS", "job_lease_seconds", 2, 3600),
            ("PHARMACHECK_JOB_MAX_ATTEMPTS", "job_max_attempts", 1, 100),
            ("PHARMACHECK_WEBHOOK_MAX_ATTEMPTS", "webhook_max_attempts", 1, 50),
        ):
            if env.get(name):
                kwargs[key] = _int(env, name, lo, hi)
        if env.get("PHARMACHECK_CHECK_TIMEOUT"):
            kwargs["check_timeout"] = float(_int(env, "PHARMACHECK_CHECK_TIMEOUT", 2, 600))
        if env.get("PHARMACHECK_QUEUE_NAME"):
            kwargs["queue_name"] = _name(env, "PHARMACHECK_QUEUE_NAME")
        if env.get("PHARMACHECK_METRICS"):
            kwargs["metrics_enabled"] = _bool(env, "PHARMACHECK_METRICS")
        for name, key in (("PHARMACHECK_LISTS", "use_lists"), ("PHARMACHECK_IDENTITY_GRAPH", "identity_graph"),
                          ("PHARMACHECK_RECORD_IDENTITIES", "record_identities")):
            if env.get(name):
                kwargs[key] = _bool(env, name)
        if env.get("PHARMACHECK_LISTS_REFRESH"):
            kwargs["lists_refresh_interval"] = float(_int(env, "PHARMACHECK_LISTS_REFRESH", 0, 86_400))
        return cls(**kwargs)


def _bool(env: dict, name: str) -> bool:
    value = env[name].strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: expected true or false, got {env[name]!r}")


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SettingsError(f"PHARMACHECK_ALLOW_PORTS: {text!r} is not a port number from 1 to 65535")
    return int(text)


def _int(env: dict, name: str, lo: int, hi: int) -> int:
    try:
        value = int(env[name])
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {env[name]!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name}: must be between {lo} and {hi}, got {value}")
    return value


def _public_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(f"PHARMACHECK_PUBLIC_URL: expected an http(s) origin such as https://pharmacheck.example, got {value!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
def _name(env: dict, name: str) -> str:
    import re

    value = env[name].strip()
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", value):
        raise SettingsError(f"{name}: letters, digits and _ . : - only (at most 64), got {env[name]!r}")
    return value


def _redis_url(value: str) -> str:
    from urllib.parse import urlsplit

    value = value.strip()
    if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(f"PHARMACHECK_REDIS_URL: expected redis://HOST:PORT/DB (or rediss:// for TLS), got {value!r}")
    return value


def _rate(env: dict, name: str) -> str:
    from limits import parse

    try:
        parse(env[name])
    except ValueError:
        raise SettingsError(f"{name}: expected a rate such as '30/minute' or '1000/hour', got {env[name]!r}") from None
    return env[name]
