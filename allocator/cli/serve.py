"""`allocator serve`: the local web page (FastAPI + htmx) on the same API as the CLI."""
from __future__ import annotations

import sys

import typer

from allocator.cli.common import app
from allocator.errors import InputError

LOCAL = ("127.0.0.1", "localhost", "::1")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="address to bind (default: this computer only)"),
    port: int = typer.Option(8000, "--port", help="TCP port"),
    open_browser: bool = typer.Option(False, "--open", help="open the page in the default browser"),
    workers: int = typer.Option(2, "--workers", help="solves run at once"),
    queue: int = typer.Option(4, "--queue", help="solves waiting beyond the workers; more get 'busy, retry'"),
    max_wait: float = typer.Option(30.0, "--max-wait", help="seconds a solve may wait for a worker; one not "
                                   "started by then gets 'busy, retry'"),
) -> int:
    """Serve the web page: the profile form, the answer page and POST /api/solve."""
    if not 0 < port < 65536:
        raise InputError(f"--port {port}: give a TCP port between 1 and 65535")
    if workers < 1 or queue < 0:
        raise InputError(f"--workers {workers} / --queue {queue}: need at least 1 worker and a queue >= 0")
    if not 0 < max_wait <= 3600:
        raise InputError(f"--max-wait {max_wait:g}: give seconds between 0 and 3600")
    try:
        import uvicorn

        from allocator.web.app import Settings, create_app
    except ImportError as e:
        raise InputError(f"allocator serve needs the web extra ({e.name} is missing): "
                         "pip install -e '.[web]' in the allocator checkout") from None
    if host not in LOCAL:
        sys.stderr.write(f"allocator: warning: serving on {host}: other computers can reach this page; "
                         "use the default 127.0.0.1 to keep it on this computer\n")
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    sys.stderr.write(f"allocator: serving on {url} (Ctrl+C to stop)\n")
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(0.8, lambda: webbrowser.open(url)).start()
    # access_log off: request lines are not logged (answers' addresses would be); nothing else is
    uvicorn.run(create_app(Settings(workers=workers, queue=queue, max_wait=max_wait)), host=host, port=port, access_log=False,
                log_level="warning")
    return 0
