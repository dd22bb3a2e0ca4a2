"""``intake serve``: the desk on waitress (127.0.0.1 by default), and the hot folder in the same process.

The web server answers in its own threads; the main thread runs the hot folder (when
``[desk] hot_folder`` is set), so SIGTERM and Ctrl-C stop it between files, then the server.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from intake.config import Config
from intake.delivery import Dispatcher
from intake.desk import live
from intake.store import open_store

log = logging.getLogger(__name__)

DESK_POLL_S = 0.25  # the desk's hot folder is polled often: a scan should be on screen within seconds
PURGE_EVERY_S = 3600.0
SEND_EVERY_S = 1.0  # without a hot folder, released documents still leave within a second


def application(config: Config) -> object:
    """The desk's WSGI application for ``config`` (the store set up and migrated)."""
    open_store(config)
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def serve(config: Config, *, host: str | None = None, port: int | None = None) -> None:
    """Serve the desk until SIGTERM or Ctrl-C; watch the hot folder meanwhile."""
    from waitress import create_server

    app = application(config)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a busy moment is not worth a warning a line
    # Each open list holds a thread while it waits for news (intake.desk.live), within limits.
    server = create_server(app, host=host or config.desk.host, port=port or config.desk.port,
                           threads=live.SERVER_THREADS, ident="intake")  # fmt: skip
    thread = threading.Thread(target=server.run, name="desk-http", daemon=True)
    thread.start()
    threading.Thread(target=_purge_hourly, args=(config,), name="desk-purge", daemon=True).start()
    log.warning("the desk is at http://%s:%s/", server.effective_host, server.effective_port)  # type: ignore[union-attr]
    try:
        folder = config.desk.hot_folder
        if folder is not None:
            from intake.watch import watch

            folder.mkdir(parents=True, exist_ok=True)
            watch(folder, config, dispatcher=Dispatcher(config), interval=DESK_POLL_S, store=open_store(config))
        else:
            _send_until_stopped(Dispatcher(config))
    finally:
        server.close()


def _send_until_stopped(dispatcher: Dispatcher) -> None:
    """Deliver what the desk released, until SIGTERM or Ctrl-C (the hot folder does this when there is one)."""
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    while not stopped.wait(SEND_EVERY_S):
        try:
            dispatcher.flush()
        except Exception:  # delivery trouble is retried; the desk goes on
            log.exception("flushing the outbox failed; will retry")


def _purge_hourly(config: Config) -> None:
    """Delete what finished documents no longer need, now and then every hour."""
    from intake.store.resolve import Desk

    desk = Desk(open_store(config), config, dispatcher=Dispatcher(config))
    while True:
        try:
            desk.purge()
        except Exception:  # the next hour tries again; the desk goes on
            log.exception("purging finished documents failed")
        time.sleep(PURGE_EVERY_S)
