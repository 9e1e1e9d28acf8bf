"""dipkb serve: the KB over HTTP, read-only, for people who never open a terminal."""
from __future__ import annotations

import ipaddress
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import click

from dipkb.cli.base import layout_of
from dipkb.errors import UsageError
from dipkb.util.paths import display_path


def _listen_on(ctx: click.Context, param: click.Parameter, host: str) -> str:
    # '' would listen on every interface: a blank $HOST put the KB on the network.
    if not host.strip():
        raise UsageError("--host is empty: give the address to listen on, such as 127.0.0.1 (the default).")
    return host


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, callback=_listen_on,
              help="Address to listen on. Anything but loopback lets other machines in: you are warned.")
@click.option("--port", default=7878, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free one).")
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(0.1, 30.0 * 60),
              help="Longest a SPARQL query may run, in seconds; a request may ask for less.")
@click.option("--max-rows", default=10_000, show_default=True, type=click.IntRange(1),
              help="Most rows a SPARQL SELECT returns; past it the result is cut and says so.")
# Below about 192 MB a query worker cannot start its threads (std::system_error at start-up), and
# every query failed with a message blaming the query.
@click.option("--query-memory", type=click.IntRange(256), metavar="MB",
              help="Most memory a SPARQL query may take, in MB, at least 256 (default: the two query workers "
                   "take half the machine's).")
@click.option("--allow-host", "allowed", multiple=True, metavar="NAME",
              help="Also answer requests addressed to NAME, e.g. behind a reverse proxy (repeatable). Listening "
                   "on loopback, requests to other names are refused, as a DNS rebinding sends them.")
@click.option("--cors", is_flag=True, help="Let pages on other sites query this server (CORS headers on every answer).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, timeout: float, max_rows: int, query_memory: int | None,
          allowed: tuple[str, ...], cors: bool) -> None:
    """Serve the KB read-only: a web timeline, pages per event, actor, place and source, a JSON
    API and a SPARQL 1.1 endpoint at /sparql. The server sees changes to the files without a restart.
    With --endpoint it answers from that SPARQL server (see `dipkb push`) instead of the local index.

    \b
    Examples:
      dipkb serve --port 7878
      dipkb --endpoint http://127.0.0.1:7880/query serve
    """
    import uvicorn

    from dipkb.store.kb import KnowledgeBase
    from dipkb.web.app import LOOPBACK_NAMES, ServeConfig, create_app

    _check_allowed_hosts(allowed)
    layout = layout_of(ctx)
    endpoint = None
    if ctx.obj.endpoint:
        from dipkb.store.remote import open_remote

        endpoint = open_remote(ctx.obj.endpoint, timeout=timeout)
        KnowledgeBase(layout, endpoint).ask("ASK {}")  # unreachable or refusing: say so now, exit 2
    else:
        with KnowledgeBase.open(layout=layout):  # build or refresh the index now: its errors belong here
            pass
    try:
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as error:
        raise UsageError(f"cannot listen on {host!r}, port {port}: {error.strerror or error}") from error
    except (TypeError, UnicodeError, ValueError):  # a NUL or an unencodable character in the name
        raise UsageError(f"cannot listen on {host!r}: not a host name or an IP address.") from None
    # Inherited by each accepted connection: without it a keep-alive client waits ~40 ms per answer
    # for its delayed ACK (Nagle), as asyncio turns it on only for sockets it creates itself.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    address, bound_port = sock.getsockname()[:2]
    # The address bound, not the name given: 127.1 and LOCALHOST are loopback too.
    loopback = ipaddress.ip_address(address).is_loopback
    if not loopback:
        click.echo(f"Warning: listening on {host}: other machines can read this KB. dipkb serve has no "
                   "authentication; put it behind one, or use 127.0.0.1.", err=True)
    # The bound port, so that --port 0 tells where it is (the tests read this line).
    shown = display_path(layout.root)  # as given, unless that is "." (run inside it): then where that is
    served = endpoint.url if endpoint else shown if shown != "." else str(layout.root)
    click.echo(f"Serving {served} at http://{_url_host(address)}:{bound_port}/ (Ctrl-C to stop)", err=True)
    limits = {"query_memory": query_memory << 20} if query_memory else {}
    # Listening elsewhere, the machine's names and addresses are not known here, and the user was warned.
    hosts = (*LOOPBACK_NAMES, _url_host(host), *allowed) if loopback else ("*",)
    app = create_app(ServeConfig(layout, timeout=timeout, max_rows=max_rows, cors=cors, endpoint=endpoint,
                                 hosts=hosts, **limits))
    with _stopped_by_signals():
        uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])


class _Stop(Exception):
    pass


def _stop(signum: int, frame: object) -> None:
    raise _Stop


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM (systemd's and docker's stop) end the server as asked, exit code 0.

    uvicorn shuts down gracefully on either, then raises the signal again with the handler it found:
    Python's default ended the process by SIGTERM, before the exit that removes the query workers'
    fork-server directory in $TMPDIR (one left behind per stop), and turned Ctrl-C into "Aborted!",
    exit code 1."""
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except _Stop:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _check_allowed_hosts(names: tuple[str, ...]) -> None:
    """``--allow-host`` names as Starlette matches them: a name or ``*.domain``, without a port."""
    for name in names:
        wildcard = name == "*" or name.startswith("*.") or "*" not in name
        port = ":" in (name.partition("]")[2] if name.startswith("[") else name)  # an IPv6 address is bracketed
        if not name or not wildcard or "*" in name[1:] or port:
            raise UsageError(f"--allow-host {name!r}: give a host name as the requests name it, without a port "
                             "(kb.example.org), *.domain for every name under it, or * for any.")
        if name == "*":
            click.echo("Warning: --allow-host '*' answers requests addressed to any name: a web page on another "
                       "site can then read this KB through DNS rebinding. Name the hosts instead.", err=True)


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address
