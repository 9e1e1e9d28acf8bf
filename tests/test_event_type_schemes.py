"""The CAMEO and PLOVER SKOS schemes: up to date, reproducible, and structurally sound."""
import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyoxigraph import RdfFormat, Store

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build_event_type_schemes.py"
CAMEO_TTL = ROOT / "ontology" / "cameo.ttl"
PLOVER_TTL = ROOT / "ontology" / "plover.ttl"
CODEBOOK = ROOT / "data" / "reference" / "cameo-codes.csv"
CAMEO = "https://w3id.org/dipkb/cameo/"
PREFIXES = """
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX dip: <https://w3id.org/dipkb/ontology#>
PREFIX cameo: <https://w3id.org/dipkb/cameo/>
PREFIX plover: <https://w3id.org/dipkb/plover/>
PREFIX pmode: <https://w3id.org/dipkb/plover/mode/>
PREFIX pctx: <https://w3id.org/dipkb/plover/context/>
"""


def run_script(*args, seed="0"):
    env = dict(os.environ, PYTHONHASHSEED=seed)  # vary hashing so set-order leaks would show up
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env)


def load(*paths):
    store = Store()
    for path in paths:
        store.load(path=str(path), format=RdfFormat.TURTLE)
    return store


def select(store, query):
    return [[term.value if term is not None else None for term in row] for row in store.query(PREFIXES + query)]


def ask(store, query):
    return bool(store.query(PREFIXES + query))


@pytest.fixture(scope="module")
def cameo():
    return load(CAMEO_TTL)


@pytest.fixture(scope="module")
def both():
    return load(CAMEO_TTL, PLOVER_TTL)


def codebook_codes():
    text = CODEBOOK.read_bytes().decode("cp1252")
    return {row["code"] for row in csv.DictReader(io.StringIO(text, newline=""))}


# (a) committed files are what the script generates ------------------------------------------

def test_check_passes_on_committed_files():
    result = run_script("--check")
    assert result.returncode == 0, result.stderr


def test_check_fails_on_stale_files(tmp_path):
    assert run_script("--out-dir", str(tmp_path)).returncode == 0
    stale = tmp_path / "plover.ttl"
    stale.write_bytes(stale.read_bytes().replace(b"CONSULT", b"CONSULTX", 1))
    result = run_script("--check", "--out-dir", str(tmp_path))
    assert result.returncode == 1
    assert "plover.ttl" in result.stderr


# (e) regeneration is byte-identical ------------------------------------------------------------

def test_regeneration_is_byte_identical(tmp_path):
    for seed in ("1", "2"):
        out = tmp_path / seed
        assert run_script("--out-dir", str(out), seed=seed).returncode == 0
        for name in ("cameo.ttl", "plover.ttl"):
            assert (out / name).read_bytes() == (ROOT / "ontology" / name).read_bytes(), (seed, name)


# (b) the CAMEO scheme ------------------------------------------------------------------------

def test_cameo_has_every_codebook_code(cameo):
    rows = select(cameo, "SELECT DISTINCT ?c WHERE { ?c a skos:Concept ; skos:inScheme cameo:scheme }")
    assert len(rows) == 312
    assert {iri[len(CAMEO):] for (iri,) in rows} == codebook_codes()


def test_cameo_top_concepts(cameo):
    tops = {c for (c,) in select(cameo, "SELECT ?c WHERE { cameo:scheme skos:hasTopConcept ?c }")}
    inverse = {c for (c,) in select(cameo, "SELECT ?c WHERE { ?c skos:topConceptOf cameo:scheme }")}
    assert len(tops) == 20
    assert tops == inverse
    assert all(len(c) == len(CAMEO) + 2 for c in tops)
    assert not ask(cameo, "ASK { ?c skos:topConceptOf cameo:scheme ; skos:broader ?b }")


def test_cameo_non_roots_have_exactly_one_existing_broader(cameo):
    rows = select(cameo, """
        SELECT ?c (COUNT(DISTINCT ?b) AS ?n) (SAMPLE(?b) AS ?parent) WHERE {
            ?c skos:inScheme cameo:scheme .
            FILTER NOT EXISTS { ?c skos:topConceptOf cameo:scheme }
            OPTIONAL { ?c skos:broader ?b . ?b skos:inScheme cameo:scheme }
        } GROUP BY ?c""")
    assert len(rows) == 292
    for concept, n, parent in rows:
        assert n == "1", concept
        assert concept.startswith(parent) and len(concept) == len(parent) + 1, (concept, parent)
    assert not ask(cameo, """ASK { ?c skos:broader ?b
                                   FILTER NOT EXISTS { ?b a skos:Concept ; skos:inScheme cameo:scheme } }""")


def test_cameo_notations_unique_and_match_iri(cameo):
    rows = select(cameo, "SELECT ?c ?n WHERE { ?c skos:inScheme cameo:scheme ; skos:notation ?n }")
    assert len(rows) == 312
    assert len({n for _, n in rows}) == 312
    for concept, notation in rows:
        assert concept == CAMEO + notation
    assert not ask(cameo, "ASK { ?c skos:notation ?n FILTER(datatype(?n) != xsd:string) }")


def test_cameo_labels_and_goldstein(cameo):
    assert not ask(cameo, """ASK { ?c skos:inScheme cameo:scheme
                                   FILTER NOT EXISTS { ?c skos:prefLabel ?l FILTER(lang(?l) = "en") } }""")
    rows = select(cameo, "SELECT ?c ?g WHERE { ?c skos:inScheme cameo:scheme ; dip:goldsteinScale ?g }")
    assert len(rows) == 312
    assert all(-10 <= float(g) <= 10 for _, g in rows)
    assert not ask(cameo, "ASK { ?c dip:goldsteinScale ?g FILTER(datatype(?g) != xsd:decimal) }")


def test_cameo_text_is_decoded_not_mojibake():
    text = CAMEO_TTL.read_text("utf-8")
    assert "\u201a\u00c4\u00f4" not in text  # "‚Äô", the double-encoded right quote
    assert "Moscow\u2019s" in text
    assert "\u00a312m" in text  # "£12m", from "¬£12m"


# (c) mappings to PLOVER ---------------------------------------------------------------------

def test_042_is_consult_by_visit(cameo):
    assert ask(cameo, "ASK { cameo:042 skos:closeMatch plover:CONSULT ; dip:ploverMode pmode:visit }")
    assert len(select(cameo, "SELECT ?t WHERE { cameo:042 skos:closeMatch ?t }")) == 1


def test_yield_root_maps_to_both_halves(cameo):
    types = {t for (t,) in select(cameo, "SELECT ?t WHERE { cameo:08 skos:closeMatch ?t }")}
    assert types == {"https://w3id.org/dipkb/plover/CONCEDE", "https://w3id.org/dipkb/plover/RETREAT"}


def test_mappings_are_not_inherited(cameo):
    # CAMEO 01 and 02 were dropped from PLOVER and have no crosswalk lines
    assert not ask(cameo, """ASK { ?c skos:closeMatch ?t
                                   FILTER(STRSTARTS(STR(?c), STR(cameo:01)) || STRSTARTS(STR(?c), STR(cameo:02))) }""")
    assert ask(cameo, "ASK { cameo:094 dip:ploverContext pctx:military, pctx:legal }")
    assert not ask(cameo, "ASK { <https://w3id.org/dipkb/cameo/1214> ?p ?o }")


# (d) the PLOVER schemes ---------------------------------------------------------------------

def test_every_plover_term_used_by_cameo_is_defined(both):
    for prop, scheme in (("skos:closeMatch", "plover:scheme"), ("dip:ploverMode", "pmode:scheme"),
                         ("dip:ploverContext", "pctx:scheme")):
        missing = select(both, f"""
            SELECT DISTINCT ?t WHERE {{
                ?c skos:inScheme cameo:scheme ; {prop} ?t .
                FILTER NOT EXISTS {{ ?t a skos:Concept ; skos:inScheme {scheme} ;
                                     skos:prefLabel ?l ; skos:definition ?d ; skos:notation ?n }}
            }}""")
        assert missing == [], (prop, missing)
    assert len(select(both, "SELECT DISTINCT ?t WHERE { ?c skos:closeMatch ?t }")) == 16


def test_every_plover_concept_has_label_and_definition():
    store = load(PLOVER_TTL)
    concepts = select(store, "SELECT ?c WHERE { ?c a skos:Concept }")
    assert len(concepts) > 16
    assert not ask(store, """ASK { ?c a skos:Concept
                                   FILTER NOT EXISTS { ?c skos:prefLabel ?l ; skos:definition ?d ; skos:notation ?n } }""")
    assert not ask(store, "ASK { ?s skos:hasTopConcept ?c FILTER NOT EXISTS { ?c skos:topConceptOf ?s } }")
    assert ask(store, "ASK { <https://w3id.org/dipkb/plover/mode/visit> skos:inScheme pmode:scheme }")
    assert ask(store, "ASK { <https://w3id.org/dipkb/plover/context/diplomatic> skos:inScheme pctx:scheme }")


@pytest.mark.parametrize("path", [CAMEO_TTL, PLOVER_TTL], ids=lambda p: p.name)
def test_rapper_parses(path):
    # scripts/test.sh installs rapper: a machine without it fails here rather than skipping the check.
    rapper = shutil.which("rapper")
    assert rapper, "rapper must be installed for these tests (apt-get install raptor2-utils)"
    result = subprocess.run([rapper, "-i", "turtle", "-c", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
