"""`pharmacheck worker`: check batch jobs' items from the Redis queue, on this machine or any other.

Every worker, and the service, must use the same database (PostgreSQL; SQLite only when they share one
machine) and the same Redis. Start as many as the sites and machines allow; stop one with Ctrl-C or SIGTERM
(the items it was checking go back in the queue at once) or lose it (they go back when their lease runs out).
"""

from __future__ import annotations

import argparse
import logging

from .common import EXIT_OK, UsageError, bounded, port, settings_from_args, shared_options


def register(sub) -> None:
    worker = sub.add_parser("worker", help="check batch jobs' items from the Redis queue (any number of machines)")
    worker.add_argument("--redis-url", metavar="URL", help="the queue (default $PHARMACHECK_REDIS_URL), e.g. redis://host:6379/0")
    worker.add_argument("--queue-name", metavar="NAME", help="names the queue and keys in Redis (default $PHARMACHECK_QUEUE_NAME "
                                                           "or pharmacheck; the service must use the same)")
    worker.add_argument("--concurrency", type=bounded(1, 256, "concurrent checks"), metavar="N",
                        help="sites checked at once by this worker (default $PHARMACHECK_JOB_CONCURRENCY or 4)")
    worker.add_argument("--lease-seconds", type=bounded(2, 3600, "the lease"), metavar="S",
                        help="how long an item stays this worker's without being renewed (default 60)")
    worker.add_argument("--metrics-port", type=port, metavar="PORT",
                        help="serve this worker's Prometheus metrics on http://HOST:PORT/metrics")
    worker.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST")
    shared_options(worker)
    worker.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from arq.worker import Worker

    from app.jobs.redisq import worker_settings
    from app.store import open_database

    settings = settings_from_args(args)
    if args.redis_url:
        settings = settings.with_(redis_url=args.redis_url)
    if args.queue_name:
        settings = settings.with_(queue_name=args.queue_name)
    if args.lease_seconds:
        settings = settings.with_(job_lease_seconds=args.lease_seconds)
    if not settings.redis_url:
        raise UsageError("invalid_option", "pharmacheck worker needs a Redis queue: --redis-url redis://HOST:6379/0 "
                                           "or PHARMACHECK_REDIS_URL (without one, the service checks jobs itself)")
    open_database(settings.effective_database_url)  # a database that cannot be used stops the worker now
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.metrics_port:
        from prometheus_client import start_http_server

        from app.metrics import REGISTRY

        start_http_server(args.metrics_port, addr=args.metrics_host, registry=REGISTRY)
    Worker(**worker_settings(settings, args.concurrency or settings.job_concurrency)).run()
    return EXIT_OK
