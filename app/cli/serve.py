"""`pharmacheck serve`: the web page and the JSON API."""

from __future__ import annotations

import argparse

from .common import EXIT_OK, port, settings_from_args, shared_options


def register(sub) -> None:
    serve = sub.add_parser("serve", help="run the web page and JSON API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port, default=8000)
    serve.add_argument("--redis-url", metavar="URL", help="enqueue batch jobs in this Redis for `pharmacheck worker` "
                                                         "processes (default $PHARMACHECK_REDIS_URL; without one the "
                                                         "service checks jobs itself)")
    shared_options(serve)
    serve.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from app.api.main import create_app

    settings = settings_from_args(args)
    if args.redis_url:
        settings = settings.with_(redis_url=args.redis_url)
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=False)
    return EXIT_OK
