"""Run the web process: `python -m web` (what `huntsman run` starts).

Environment: DATABASE_URL (required), HUNTSMAN_WEB_LISTEN (default 127.0.0.1:8080),
HUNTSMAN_SECRET_KEY (an ephemeral key is generated, with a warning, when it is absent).
"""

from gevent import monkey

monkey.patch_all()

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

from web.app import close_pool, create_app  # noqa: E402

log = logging.getLogger("huntsman.web")


def parse_listen(value: str) -> tuple[str, int]:
    """`host:port` (IPv6 in brackets: `[::1]:8080`) -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"HUNTSMAN_WEB_LISTEN must be host:port, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not os.environ.get("DATABASE_URL"):
        print("huntsman web: DATABASE_URL is not set", file=sys.stderr)
        return 2
    try:
        host, port = parse_listen(os.environ.get("HUNTSMAN_WEB_LISTEN", "127.0.0.1:8080"))
    except ValueError as exc:
        print(f"huntsman web: {exc}", file=sys.stderr)
        return 2
    app = create_app()
    server = WSGIServer((host, port), app, log=None)
    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)
    log.info("listening on http://%s:%d/", host, port)
    try:
        server.serve_forever()
    finally:
        close_pool(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
