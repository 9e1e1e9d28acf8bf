"""A remote SPARQL 1.1 endpoint behind the engine seam: the second :class:`~dipkb.store.engine.Engine`.

The views ask it what they ask the embedded store; it sends the guard's query over the SPARQL 1.1
Protocol and parses the answer with pyoxigraph, so they get the same result and term types.

The wire, measured on Oxigraph server 0.5 and Virtuoso 7.2.5:

- Queries go by GET, or by form POST when long, never as POST ``application/sparql-query``, which
  Virtuoso 7.2.5 never answers.
- The text is rebuilt from the guard's tokens, as standard SPARQL: the guard writes IRIs and strings
  with ``\\u`` escapes so that Oxigraph's backtracking parser reads them one way only, and Virtuoso
  refuses ``\\u`` in IRIs. An IRI that could not be written plainly inside ``<>`` is refused.
- Remote servers take no substitutions: bound variables become a VALUES block at the start of the
  query's pattern (:func:`sparql.saved.pattern_start`, else the first group after the query form),
  the terms written from pyoxigraph's terms, never from text.
- The dataset is the protocol's default-graph-uri and named-graph-uri. The union of every graph
  (``Dataset()``) is sent as no parameter at all: the server's default graph must be that union,
  as it is on Virtuoso and on ``oxigraph serve --union-default-graph``, or hold a copy of it, as
  the N-Quads export writes one.
- SELECT and ASK answers are read as SPARQL XML: Virtuoso's JSON writes ``true`` as ``"1"``, its
  XML does not. Its blank nodes (``nodeID://b10000``) are given labels pyoxigraph accepts.
- A query Virtuoso rolls back (SQLSTATE 40001, "Transaction deadlocked": now and then when two
  reads run at once, as the chunks of a long look-up do) is sent again, three times at most.

Credentials come from the options, else ``$DIPKB_ENDPOINT_USER`` and ``$DIPKB_ENDPOINT_PASSWORD``,
else ``~/.netrc``; urllib answers Basic and Digest challenges with them (Virtuoso's authenticated
endpoints want Digest). No message ever shows them. The standard library is enough for this: no
HTTP dependency is added.
"""
from __future__ import annotations

import http.client
import netrc
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message

from pyoxigraph import (NamedNode, QueryBoolean, QueryResultsFormat, QuerySolutions, RdfFormat, Store, Triple,
                        parse, parse_query_results, serialize)

from dipkb.errors import EndpointError, QueryError, UsageError
from dipkb.model.namespaces import DERIVED_GRAPH, DIP, FILE_GRAPH_PREFIX
from dipkb.sparql.saved import pattern_start
from dipkb.sparql.tokens import Kind, tokenize
from dipkb.store.engine import Dataset, Term

USER_ENV_VAR = "DIPKB_ENDPOINT_USER"
PASSWORD_ENV_VAR = "DIPKB_ENDPOINT_PASSWORD"
QUERY_TIMEOUT = 60.0
# Longer queries go by form POST: servers and proxies cap URLs between 2 and 8 kB.
_GET_LIMIT = 2000
_RESULTS = "application/sparql-results+xml"
_NTRIPLES = "application/n-triples"
# Virtuoso rolls back a read that runs beside another now and then ("Virtuoso 40001 Error SR172:
# Transaction deadlocked", one timeline in thirty on two threads): SQLSTATE 40001 says the
# transaction may be run again, and a query changes nothing: it is sent again after each of these waits.
_ROLLED_BACK = re.compile(r"\b40001\b")
_ROLLED_BACK_WAITS = (0.05, 0.2, 1.0)
# Not a graph of any KB: what a query reads when its dataset is empty (the protocol has no other way
# to say "no graph"; no parameter at all would mean the server's default graph).
_NO_GRAPH = "urn:dipkb:no-graph"
# A file's tally (tallies.py), in its derived graph, names the file's graph; a file without triples has none.
_TALLIED_GRAPHS = f"SELECT ?g ?file ?triples WHERE {{ GRAPH ?g {{ ?t <{DIP}tallyFile> ?file ; <{DIP}tallyTriples> ?triples }} }}"
# Characters SPARQL's IRIREF cannot hold; an IRI with one is refused rather than escaped (the
# \u escapes Oxigraph takes are not understood everywhere).
_NOT_IN_IRIREF = frozenset('<>"{}|^`\\') | {chr(c) for c in range(0x21)}


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)


def split_credentials(url: str) -> tuple[str, Credentials | None]:
    """``url`` without the ``user:password@`` it may carry, and those credentials. UsageError for what
    is not an http(s) URL with a host, shown shortened, and not at all when it may hold a password."""
    try:
        parts = urllib.parse.urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and url.isprintable() and " " not in url
        valid = valid and (parts.port or 0) >= 0  # reading the port checks it
    except ValueError:
        valid = False
    if not valid:
        shown = "(not shown: it may hold a password)" if "@" in url else repr(url[:80]) + ("..." if len(url) > 80 else "")
        raise UsageError(f"A SPARQL endpoint is an http:// or https:// URL with a host, not {shown}.")
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    plain = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return plain, Credentials(urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))


def find_credentials(url: str, user: str | None = None, password: str | None = None) -> Credentials | None:
    """The credentials for ``url``: ``user`` and ``password`` as given, else from the environment,
    else the ~/.netrc entry for its host (for ``user`` only, when one is named); None without any."""
    user = user or os.environ.get(USER_ENV_VAR) or None
    if password is None:
        password = os.environ.get(PASSWORD_ENV_VAR)
    if user is not None and password is not None:
        return Credentials(user, password)
    try:
        entry = netrc.netrc().authenticators(urllib.parse.urlsplit(url).hostname or "")
    except (OSError, netrc.NetrcParseError):
        entry = None
    if entry is not None and (user is None or entry[0] == user):
        return Credentials(entry[0], entry[2] or "")
    if user is not None:
        raise UsageError(f"No password for the user {user!r}: set ${PASSWORD_ENV_VAR} or add the host to ~/.netrc.")
    return None


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def media_type(self) -> str:
        return self.headers.get_content_type()


_REASONS = {401: "check the user and password ($DIPKB_ENDPOINT_USER and $DIPKB_ENDPOINT_PASSWORD, ~/.netrc, "
                 "or push's --user and --password).",
            403: "the account may not do this here; ask the server's administrator."}


class Connection:
    """HTTP requests to SPARQL servers, with credentials; every failure is an EndpointError naming
    the URL and the status, without the credentials."""

    def __init__(self, credentials: Credentials | None = None, timeout: float = QUERY_TIMEOUT):
        self.timeout = timeout
        self._credentials = credentials
        self._local = threading.local()

    def _opener(self, url: str) -> urllib.request.OpenerDirector:
        """This thread's opener: urllib's Digest handler counts its retries in itself, so threads
        sharing one would fail each other's authentication."""
        if not hasattr(self._local, "opener"):
            self._local.passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            handlers = [] if self._credentials is None else [
                urllib.request.HTTPDigestAuthHandler(self._local.passwords),
                urllib.request.HTTPBasicAuthHandler(self._local.passwords)]
            self._local.opener = urllib.request.build_opener(*handlers)
        if self._credentials is not None:
            self._local.passwords.add_password(None, url, self._credentials.user, self._credentials.password)
        return self._local.opener

    def send(self, method: str, url: str, *, body: bytes | None = None, content_type: str | None = None,
             accept: str | None = None) -> Answer:
        opener = self._opener(url)
        headers = {"Accept": accept} if accept else {}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        shown = url.split("?", 1)[0]
        try:
            with opener.open(request, timeout=self.timeout) as response:
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            detail = _first_line(error.read()) if error.fp is not None else ""
            hint = _REASONS.get(error.code) or detail
            raise EndpointError(f"The SPARQL endpoint {shown} answered {error.code} {error.reason}"
                                + (f": {hint}" if hint else "."), error.code, detail) from None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, TimeoutError):
                raise self._timed_out(shown) from None
            why = getattr(reason, "strerror", None) or str(reason)
            raise EndpointError(f"Cannot reach the SPARQL endpoint {shown}: {why}.",
                                connected=not isinstance(reason, ConnectionRefusedError | socket.gaierror)) from None
        except TimeoutError:
            raise self._timed_out(shown) from None
        except ValueError as error:  # urllib's Basic handler, challenged with a scheme it does not know
            raise EndpointError(f"The SPARQL endpoint {shown} answered 401 Unauthorized and wants an "
                                f"authentication dipkb cannot give: {error}.", 401) from None
        except (ConnectionError, http.client.HTTPException) as error:
            why = getattr(error, "strerror", None) or type(error).__name__
            raise EndpointError(f"The SPARQL endpoint {shown} broke off the connection: {why}.") from None

    def limited(self, timeout: float) -> Connection:
        """The same credentials, waiting at most ``timeout`` seconds for each read."""
        return Connection(self._credentials, timeout)

    def _timed_out(self, url: str) -> EndpointError:
        return EndpointError(f"The SPARQL endpoint {url} did not answer within {self.timeout:g} s.")


def _first_line(body: bytes) -> str:
    lines = [line.strip() for line in body.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[0][:300] if lines else ""


class RemoteEngine:
    """A SPARQL 1.1 query endpoint (``url``), read over the protocol; see the module's docstring."""

    def __init__(self, url: str, connection: Connection):
        self.url = url
        self.connection = connection

    def limited(self, timeout: float) -> RemoteEngine:
        """The same endpoint, waiting at most ``timeout`` seconds for each read of an answer."""
        return RemoteEngine(self.url, self.connection.limited(timeout))

    def solutions(self, query: str, bindings: Mapping[str, Term], dataset: Dataset) -> QuerySolutions:
        answer = self._results(query, bindings, dataset)
        if not isinstance(answer, QuerySolutions):
            raise EndpointError(f"The SPARQL endpoint {self.url} sent a yes-or-no answer to a SELECT query.")
        # A variable the answer lacks would fail in the view reading it (a KeyError), or read as unbound.
        missing = [v.value for v in Store().query(query).variables if v not in answer.variables]
        if missing:
            raise EndpointError(f"The SPARQL endpoint {self.url} sent an answer without the variables asked for: "
                                + ", ".join("?" + name for name in missing) + ".")
        return answer

    def ask(self, query: str, bindings: Mapping[str, Term], dataset: Dataset) -> QueryBoolean:
        answer = self._results(query, bindings, dataset)
        if not isinstance(answer, QueryBoolean):
            raise EndpointError(f"The SPARQL endpoint {self.url} sent rows as the answer to an ASK query.")
        return answer

    def triples(self, query: str, bindings: Mapping[str, Term], dataset: Dataset) -> Iterable[Triple]:
        answer = self._sent(query, bindings, dataset, _NTRIPLES)
        return [quad.triple for quad in parse(answer.body, _rdf_format(answer))]

    def graphs(self) -> list[str]:
        """The KB's graphs on the server (others it may hold are not the KB's)."""
        # `GRAPH ?g {}` lists the named graphs without reading them on Oxigraph. Virtuoso answers it
        # with nothing, and takes 40 s to list the graphs of 200k triples from a pattern: there,
        # the derived graphs' tallies name them, each derived graph naming its file's.
        rows = self.solutions("SELECT DISTINCT ?g WHERE { GRAPH ?g {} }", {}, Dataset())
        found = {row[0].value for row in rows if isinstance(row[0], NamedNode)}
        if not found:
            for derived, file, triples in self.solutions(_TALLIED_GRAPHS, {}, Dataset()):
                found.update((derived.value, file.value) if int(triples.value) else (derived.value,))
        return sorted(g for g in found if g.startswith((FILE_GRAPH_PREFIX, DERIVED_GRAPH + ":")))

    def graph(self, iri: str) -> bytes:
        text = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {NamedNode(iri)} {{ ?s ?p ?o }} }}"
        answer = self._send(text, Dataset(), _NTRIPLES)
        # In Oxigraph's N-Triples form, one space between terms, as the export's writers expect.
        return serialize((quad.triple for quad in parse(answer.body, _rdf_format(answer))), format=RdfFormat.N_TRIPLES)

    def _results(self, query: str, bindings: Mapping[str, Term], dataset: Dataset):
        answer = self._sent(query, bindings, dataset, _RESULTS)
        cut = answer.headers.get("X-SPARQL-MaxRows")
        if cut is not None:
            raise EndpointError(f"The SPARQL endpoint {self.url} cut the answer at {cut} rows (Virtuoso's "
                                "ResultSetMaxRows): raise that limit in its virtuoso.ini, [SPARQL] section.")
        format = QueryResultsFormat.from_media_type(answer.media_type) or QueryResultsFormat.XML
        body = answer.body
        if format is QueryResultsFormat.XML:
            body = body.replace(b"<bnode>nodeID://", b"<bnode>")  # Virtuoso's label is no blank node label
        try:
            parsed = parse_query_results(body, format=format)
            if isinstance(parsed, QuerySolutions):  # read lazily: an answer cut short failed in the view reading it
                for _ in parsed:
                    pass
                parsed = parse_query_results(body, format=format)
            return parsed
        except SyntaxError as error:
            raise EndpointError(f"The SPARQL endpoint {self.url} sent an answer that does not parse: {error}") from None

    def _sent(self, query: str, bindings: Mapping[str, Term], dataset: Dataset, accept: str) -> Answer:
        """The answer to the guard's ``query``, sent as :func:`remote_text`. A syntax error the server
        places is placed in the text it was sent, whose columns are not the query's; Oxigraph's
        parser, run here on nothing, places it in the query, as the local engine does."""
        try:
            return self._send(remote_text(query, bindings), dataset, accept)
        except SyntaxError:
            Store().query(query)  # raises the same error, placed; or the server's stands
            raise

    def _send(self, text: str, dataset: Dataset, accept: str) -> Answer:
        encoded = urllib.parse.urlencode([("query", text)] + self._dataset_fields(dataset))
        for wait in _ROLLED_BACK_WAITS:
            try:
                return self._request(encoded, accept)
            except EndpointError as error:
                if error.status != 500 or not _ROLLED_BACK.search(error.detail):
                    raise
            time.sleep(wait)
        return self._request(encoded, accept)

    def _request(self, encoded: str, accept: str) -> Answer:
        try:
            if len(encoded) <= _GET_LIMIT:
                separator = "&" if "?" in self.url else "?"
                answer = self.connection.send("GET", f"{self.url}{separator}{encoded}", accept=accept)
            else:
                answer = self.connection.send("POST", self.url, body=encoded.encode(),
                                              content_type="application/x-www-form-urlencoded", accept=accept)
        except EndpointError as error:
            if error.status == 400:  # the server's parser refused the query
                raise SyntaxError(error.detail or str(error)) from None
            raise
        if answer.media_type in ("text/html", "application/xhtml+xml"):
            # The server's home page, or its query editor: the usual slip is its address without the path.
            raise EndpointError(f"The SPARQL endpoint {self.url} answered with a web page, not SPARQL results: give "
                                "the address of its query service (Oxigraph server's ends in /query, Fuseki's in "
                                "/DATASET/sparql, Virtuoso's in /sparql).")
        return answer

    def _dataset_fields(self, dataset: Dataset) -> list[tuple[str, str]]:
        """The protocol's dataset parameters. A default graph that is the union while the named
        graphs are chosen cannot be said over the protocol: the union is then every graph, listed."""
        if dataset.default_graphs is None and dataset.named_graphs is None:
            return []
        default = self.graphs() if dataset.default_graphs is None else list(dataset.default_graphs)
        named = self.graphs() if dataset.named_graphs is None else list(dataset.named_graphs)
        if not default and not named:
            default = [_NO_GRAPH]
        return [("default-graph-uri", g) for g in default] + [("named-graph-uri", g) for g in named]


def _rdf_format(answer: Answer) -> RdfFormat:
    return RdfFormat.from_media_type(answer.media_type) or RdfFormat.N_TRIPLES


def remote_text(query: str, bindings: Mapping[str, Term]) -> str:
    """The guard's ``query`` as standard SPARQL for any server, ``bindings`` in a VALUES block at
    the start of its pattern (see the module's docstring). Lines stay where they were."""
    if bindings:
        at = pattern_start(query)
        if at is None:
            at = _group_after_form(query)
        if at is None:
            raise QueryError("This query has no pattern to bind its parameters in.")
        names = " ".join(f"?{name}" for name in bindings)
        row = " ".join(str(term) for term in bindings.values())
        query = f"{query[:at]} VALUES ({names}) {{ ({row}) }}{query[at:]}"
    return "".join(_portable(token) for token in tokenize(query))


def _group_after_form(query: str) -> int | None:
    """The offset after the ``{`` opening the pattern of a query without the WHERE keyword
    (``ASK { ... }``, ``SELECT * { ... }``): the first group after the form keyword, the second
    after CONSTRUCT's template."""
    depth, groups, form = 0, 0, None
    for token in tokenize(query):
        if token.kind is Kind.KEYWORD and form is None and token.text.upper() in ("SELECT", "ASK", "DESCRIBE",
                                                                                  "CONSTRUCT"):
            form = token.text.upper()
        elif token.kind is Kind.PUNCT and token.text in ("{", "}") and form is not None:
            if token.text == "{" and depth == 0:
                groups += 1
                if groups == (2 if form == "CONSTRUCT" else 1):
                    return token.end
            depth += 1 if token.text == "{" else -1
    return None


def _portable(token) -> str:
    if token.kind is Kind.IRI:
        if not _NOT_IN_IRIREF.isdisjoint(token.value):
            raise QueryError(f"The IRI <{token.value}> holds a character a remote endpoint cannot be sent.")
        return f"<{token.value}>"
    if token.kind is Kind.STRING:
        # Long quotes: line ends stay as they are, so do the lines of the server's error messages.
        return '"""' + token.value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r") + '"""'
    if token.kind is Kind.VAR:
        return "?" + token.text[1:]
    return token.text


def open_remote(url: str, *, user: str | None = None, password: str | None = None,
                timeout: float = QUERY_TIMEOUT) -> RemoteEngine:
    """The engine for the query endpoint ``url``, with the credentials found for it."""
    url, in_url = split_credentials(url)
    credentials = in_url or find_credentials(url, user, password)
    return RemoteEngine(url, Connection(credentials, timeout))

