"""Load on a real `dipkb serve`: 20 concurrent clients, 100 queries each, over loopback. No error, and
every answer the same as the one a lone client gets. Latency figures are in bench/serve_bench.py."""
from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

CLIENTS, QUERIES = 20, 100
# A SELECT with joins and an ORDER BY, an aggregate, an ASK and a CONSTRUCT, asked in turn.
ASKED = [
    ("SELECT ?e ?label ?date WHERE { ?e a dip:Meeting ; rdfs:label ?label OPTIONAL { ?e dip:date ?date } } ORDER BY ?e",
     "application/sparql-results+json"),
    ("SELECT ?type (COUNT(?e) AS ?n) WHERE { ?e a ?type ; dip:source ?s } GROUP BY ?type ORDER BY ?type", "text/csv"),
    ("ASK { event:kabulov-taliban-meeting-2021-07 dip:place place:moscow }", "application/sparql-results+xml"),
    ("CONSTRUCT { ?e dip:place ?p } WHERE { ?e dip:place ?p }", "text/turtle"),
]
DEADLINE = 120.0  # seconds for the whole run; it takes a few


@dataclass
class Client:
    url: str
    answers: list[tuple[int, bytes]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def run(self) -> None:
        address = urlsplit(self.url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        try:
            for number in range(QUERIES):
                query, accept = ASKED[number % len(ASKED)]
                try:
                    connection.request("GET", "/sparql?" + urlencode({"query": query}), headers={"Accept": accept})
                    response = connection.getresponse()
                    self.answers.append((response.status, response.read()))
                except (OSError, http.client.HTTPException) as error:
                    self.errors.append(f"query {number}: {error!r}")
                    connection.close()
        finally:
            connection.close()


def test_twenty_clients_a_hundred_queries_each(served_kb):
    lone = Client(served_kb.url)
    lone.run()
    assert lone.errors == [] and {status for status, _ in lone.answers} == {200}
    expected = lone.answers[:len(ASKED)]
    assert all(body for _, body in expected)

    clients = [Client(served_kb.url) for _ in range(CLIENTS)]
    threads = [threading.Thread(target=client.run, daemon=True) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE)
    assert not any(thread.is_alive() for thread in threads), f"clients still running after {DEADLINE:.0f} s"
    assert [error for client in clients for error in client.errors] == []
    for client in clients:
        assert len(client.answers) == QUERIES
        assert client.answers == [expected[n % len(ASKED)] for n in range(QUERIES)]
