#!/usr/bin/env python3
"""Build ontology/cameo.ttl and ontology/plover.ttl from data/reference/ (stdlib only).

    python scripts/build_event_type_schemes.py            # regenerate
    python scripts/build_event_type_schemes.py --check    # exit 1 if the committed files are stale

Turtle is written as text in a fixed order so the output is byte-stable across runs and machines.
"""
import argparse, csv, io, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAMEO, PLOVER, DIP = "https://w3id.org/dipkb/cameo/", "https://w3id.org/dipkb/plover/", "https://w3id.org/dipkb/ontology#"
# Fixed, not today's date: a date that changes on every run would make --check useless.
CREATED, MODIFIED, VERSION = "2026-11-24", "2026-11-24", "0.1.0"
LICENSE = "https://creativecommons.org/licenses/by-sa/4.0/"  # the crosswalk and manual are CC BY-SA: share-alike
SRC_CSV = "https://github.com/andybega/icews/blob/master/data-raw/cameo-codes.csv"
SRC_XWALK = "https://github.com/openeventdata/PLOVER/blob/master/CAMEO2PLOVER-2021.txt"
SRC_MANUAL = "https://github.com/openeventdata/PLOVER/blob/master/PLOVER_MANUAL.tex"
PREFIXES = {"cameo": CAMEO, "dct": "http://purl.org/dc/terms/", "dip": DIP, "owl": "http://www.w3.org/2002/07/owl#",
            "pctx": PLOVER + "context/", "plover": PLOVER, "pmode": PLOVER + "mode/",
            "skos": "http://www.w3.org/2004/02/skos/core#", "vann": "http://purl.org/vocab/vann/",
            "xsd": "http://www.w3.org/2001/XMLSchema#"}
INFERRED = ("Not defined in the PLOVER manual draft we could consult (0.7b1); definition inferred from the "
            "CAMEO codes mapped to it in CAMEO2PLOVER-2021.txt.")

# Paraphrased from the PLOVER manual (CC BY-SA 4.0, Open Event Data Alliance); * = inferred, see INFERRED.
TYPES = {
    "AGREE": "Agree to, offer, promise or otherwise indicate willingness or commitment to cooperate, including promises to sign or ratify agreements.",
    "CONSULT": "All consultations and meetings, including visiting or hosting a visit, meeting at a neutral location, and consultation by phone or other media.",
    "SUPPORT": "Initiate or expand diplomatic, non-material cooperation, or express support for, commend or approve a policy, action or actor, including signing agreements and granting recognition.",
    "CONCEDE": "Verbal concessions without immediate material consequences, such as promised easing of restrictions, suspended protests, or declared (not implemented) ceasefires and withdrawals.",
    "COOPERATE": "Initiate, resume, improve or expand mutual material cooperation or exchange (economic, military, judicial, intelligence) that benefits both parties.",
    "AID": "Provide material aid whose benefits accrue primarily to the recipient: economic, military or humanitarian aid, or asylum.",
    "RETREAT": "Concessions with immediate material consequences, such as releasing prisoners, returning property, allowing access, disarming, observing a ceasefire or withdrawing from territory; also resignations of officials.",
    "*REQUEST": "Ask or demand that the recipient act: provide cooperation or aid, change policy, leadership or institutions, yield, or meet and negotiate.",
    "ACCUSE": "Express disapproval, criticize or condemn; accuse, allege or charge, formally or informally; sue; or investigate crime, corruption, human rights abuses or military action.",
    "REJECT": "All rejections and refusals, e.g. of cooperation, aid, changes of policy or leadership, yielding, meetings, negotiations or settlements; also defiance of laws or norms.",
    "THREATEN": "Threats and coercive or forceful warnings with serious potential repercussions, e.g. of sanctions, restrictions, broken relations or violence; also ultimatums.",
    "PROTEST": "Civilian demonstrations and other collective action carried out in protest against the recipient: rallies, hunger strikes, strikes, boycotts, obstruction and riots.",
    "SANCTION": "Reductions in normal, routine or cooperative relations, such as breaking diplomatic relations, stopping aid, halting negotiations or expelling organizations; not only formal sanctions.",
    "MOBILIZE": "Military or police moves that fall short of the actual use of force, such as raising alert status or mobilizing forces.",
    "COERCE": "Repression or restriction of rights, such as seizing property, administrative sanctions, curfews, martial law, arrests and deportations.",
    "ASSAULT": "Deliberate actions which can potentially result in substantial physical harm, from abduction and assassination to bombing, military force and mass violence.",
}
# Categories of earlier PLOVER drafts (used e.g. in the gold standard records), kept so old data can be read.
OLD_TYPES = {
    "DEMAND": ("REQUEST", "All demands and orders: more forceful than a request or appeal, but short of a threat."),
    "DISAPPROVE": ("ACCUSE", "Express disapproval, objections or complaints; criticize, condemn or denounce."),
    "INVESTIGATE": ("ACCUSE", "All investigations, e.g. of crime, corruption, human rights abuses or war crimes."),
    "FIGHT": ("ASSAULT", "Use of conventional military force and of unconventional mass violence (CAMEO 19 and 20)."),
}
MODES = {
    "abduct": "Abduct, kidnap or hijack.", "access": "Allow a third party, such as observers, peacekeepers or humanitarian workers, access.",
    "*allege": "Accuse, allege or charge, formally or informally, including official complaints and lawsuits.",
    "arrest": "Arrest, detain, imprison or charge with legal action.", "assassinate": "Targeted assassination, or attempt, with any weapon.",
    "assist": "Any form of exchange, relations or assistance.", "ban": "Ban political activities of particular parties, individuals or organizations.",
    "beat": "Physically assault.", "boycott": "Strike or boycott (CAMEO 143x).", "ceasefire": "Implement a ceasefire or truce.",
    "change": "Any change in policy, government or institutions that is not a concession.",
    "*cleansing": "Ethnic cleansing or mass expulsion of a population.", "curfew": "Impose a curfew.",
    "demo": "Organized, continuous and largely peaceful demonstration directed at another group or at government authorities.",
    "deport": "Expel or deport individuals.", "*disapprove": "Express disapproval; criticize, denounce or rally opposition.",
    "disarm": "Disarm, demobilize or give up weapons; de-escalate militarily.", "*discontinue": "Reduce or stop economic, military or humanitarian aid.",
    "*ease": "Ease economic sanctions, a boycott or an embargo (the crosswalk itself notes that ease is no longer a mode).",
    "expel": "Expel or withdraw diplomats, peacekeepers, inspectors, observers or aid agencies, excluding deportation of individuals.",
    "explosives": "Any explosive not incorporated in a heavy weapon, such as mines, IEDs and car bombs.",
    "firearms": "Rifles, pistols and light machine guns.", "heavy-weapons": "Crew-served weapons such as artillery, tanks and aircraft.",
    "hunger": "Hunger strike (CAMEO 142x).", "*investigate": "Investigate, e.g. crime, corruption, human rights abuses or military action.",
    "martial-law": "Impose a state of emergency or martial law.", "*massacre": "Mass killing.",
    "meet": "Meetings, negotiations, mediation or settlement of disputes.", "obstruct": "Obstruct passage or block (CAMEO 144x).",
    "phone": "Consultation by phone or another remote medium.", "police": "Mobilize or increase the readiness of police or security units.",
    "*political": "Restrictions on political freedoms such as speech and expression.",
    "*pro_autocracy": "Violent repression; this is a context value that the crosswalk puts in the mode field (CAMEO 175), kept as given.",
    "relations": "Suspend, reduce or break relations or talks.", "release": "Release captives.",
    "restrict": "Restrict political freedoms or the movement of people or goods, e.g. boycotts, embargoes, blockades and curfews.",
    "return": "Return property.", "riot": "Continuous, violent collective action intended to cause injury or damage to property.",
    "*seize": "Seize, confiscate or destroy property, or occupy territory.", "sexual": "Sexual violence.",
    "suicide-attack": "Individual or vehicular suicide attack.", "territory": "Occupy or seize control of all or part of a territory.",
    "third-party": "Meeting hosted by a third party or at a third location.", "torture": "Torture.",
    "troops": "Mobilize armed personnel or units.", "*unconventional": "Use of chemical, biological, radiological or nuclear weapons.",
    "violence": "Threatened violence: repression, military force or terrorist attack.", "visit": "The source actor visits and the recipient hosts.",
    "withdraw": "Withdraw forces, or one's diplomats, aid or observers, from an area, activity, organization or country.",
    "yield": "Release of prisoners, ending sanctions, easing curfews and boycotts, ceasefires.",
}
CONTEXTS = {
    "*asylum": "Granting of territorial or diplomatic asylum.", "cbrn": "Chemical, biological, radiological and nuclear weapons or attacks.",
    "corruption": "Corruption, i.e. illegal use of public office for private gain.", "crime": "Crimes or criminals.",
    "*democracy": "Political freedoms, political parties and political dissent.", "diplomatic": "Diplomacy.",
    "economic": "Trade, finance and economic development.", "*executive": "Government leadership and policy.",
    "human_rights": "Explicit mentions of human rights.", "human_security": "Access to water, food, housing, energy, land tenure and the like.",
    "humanitarian": "Humanitarian assistance generally.", "intelligence": "Intelligence or information.",
    "legal": "National and international law, not including human rights.", "military": "Military matters, including military assistance.",
    "peacekeeping": "Peacekeeping, typically multilateral operations.",
    "political_institutions": "Norms and political institutions, regime change, democratic backsliding.",
    "*pro_autocracy": "Measures entrenching autocratic rule: bans on parties, curfews, states of emergency, martial law, violent repression.",
    "religion_ethnicity": "Specific religions or ethnic groups, or religion and ethnicity generally.", "rights_freedoms": "Political rights and freedoms.",
}


def repair(text, unrepaired):
    """Undo the file's double encoding: UTF-8 bytes were read as Mac Roman and saved as cp1252 ('’' -> '‚Äô').
    Each non-ASCII run is reversed only if it round-trips exactly; anything else is kept as given and reported."""
    def fix(m):
        try:
            return m.group().encode("mac_roman").decode("utf-8")
        except UnicodeError:
            unrepaired.append(m.group())
            return m.group()
    return " ".join(re.sub(r"[^\x00-\x7f]+", fix, text).split())  # the only other change: whitespace


def read_codebook(path):
    rows = {}
    for r in csv.DictReader(io.StringIO(path.read_bytes().decode("cp1252"), newline="")):
        code, bad = r["code"], []
        if not re.fullmatch(r"\d{2,4}", code) or code in rows or r["root_code"] != code[:2]:
            sys.exit(f"{path}: bad or duplicate code {code!r}")
        rec = {k: repair(r[k], bad) for k in ("name", "goldstein", "description", "usage_notes", "example")}
        rows[code] = {k: (None if v in ("NA", "") else v) for k, v in rec.items()} | {"unrepaired": bad}
    for code in rows:
        if len(code) > 2 and code[:-1] not in rows:
            sys.exit(f"{path}: {code} has no parent {code[:-1]}")
    return rows


def read_crosswalk(path):
    """Return {code: {(type, mode, (contexts...))}}; unknown line shapes are errors, not skipped."""
    out = {}
    for n, line in enumerate(path.read_text("ascii").splitlines(), 1):
        body = line.split("#", 1)[0].strip()
        if not body or line.strip() == "~~~~~":
            continue
        m = re.fullmatch(r"(\d{2,4}):(.*)", body)
        fields = [f.strip() for f in m.group(2).split(",")] if m else []
        if not m or not 1 <= len(fields) <= 3 or not re.fullmatch(r"[A-Z]+", fields[0]):
            sys.exit(f"{path}:{n}: cannot parse {line!r}")
        fields += [""] * (3 - len(fields))
        ctx = tuple(sorted(c.strip() for c in fields[2].split(";") if c.strip()))
        for tok in (fields[1], *ctx):
            if tok and not re.fullmatch(r"[a-z][a-z_-]*", tok):
                sys.exit(f"{path}:{n}: bad mode/context {tok!r}")
        out.setdefault(m.group(1), set()).add((fields[0], fields[1] or None, ctx))
    return out


def lit(s, lang="en"):
    s = s.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"@{lang}' if lang else f'"{s}"'


def header(prefixes, subject, props):
    return [f"@prefix {p}: <{PREFIXES[p]}> ." for p in prefixes] + [""] + block(subject, props)


def block(subject, props):
    props = [(p, o) for p, o in props if o is not None]
    body = [f"    {p} {o} ;" for p, o in props]
    return [subject] + body[:-1] + [body[-1][:-2] + " .", ""]


def scheme_props(title, desc, sources, prefix, ns):
    return [("a", "skos:ConceptScheme"), ("dct:title", lit(title)), ("dct:description", lit(desc)),
            ("dct:creator", lit("The dipkb developers", None)), ("dct:created", f'"{CREATED}"^^xsd:date'),
            ("dct:modified", f'"{MODIFIED}"^^xsd:date'), ("owl:versionInfo", lit(VERSION, None)),
            ("dct:license", f"<{LICENSE}>"), ("dct:source", ", ".join(f"<{s}>" for s in sources)),
            ("vann:preferredNamespacePrefix", lit(prefix, None)), ("vann:preferredNamespaceUri", lit(ns, None))]


def build_cameo(codes, xwalk):
    lines = header(["cameo", "dct", "dip", "owl", "pctx", "plover", "pmode", "skos", "vann", "xsd"], "cameo:scheme",
                   scheme_props("CAMEO event codes", "The CAMEO (Conflict and Mediation Event Observations) event "
                                "codebook of Schrodt et al. as a SKOS concept scheme, with Goldstein scores and "
                                "mappings to PLOVER event types, modes and contexts. Labels are the codebook's own, "
                                "so root labels are in capitals; text was repaired from a Mac Roman/cp1252 double "
                                "encoding and whitespace-normalised, nothing else.",
                                [SRC_CSV, SRC_XWALK], "cameo", CAMEO)
                   + [("skos:hasTopConcept", ", ".join(f"<{CAMEO}{c}>" for c in sorted(codes) if len(c) == 2))])
    iris = lambda pfx, vals: ", ".join(f"{pfx}:{v}" for v in sorted(set(vals))) or None
    for code in sorted(codes):
        r, maps = codes[code], xwalk.get(code, ())  # no crosswalk line: no mapping, none inherited from a parent
        lines += block(f"<{CAMEO}{code}>", [
            ("a", "skos:Concept"), ("skos:inScheme", "cameo:scheme"),
            ("skos:topConceptOf", "cameo:scheme" if len(code) == 2 else None),
            ("skos:broader", f"<{CAMEO}{code[:-1]}>" if len(code) > 2 else None),
            ("skos:notation", lit(code, None)), ("skos:prefLabel", lit(r["name"])),
            *[(p, lit(r[k]) if r[k] else None) for p, k in
              (("skos:definition", "description"), ("skos:scopeNote", "usage_notes"), ("skos:example", "example"))],
            ("skos:editorialNote", lit("The source text has an encoding error that cannot be undone, kept as given: "
                                       + " ".join(r["unrepaired"])) if r["unrepaired"] else None),
            ("dip:goldsteinScale", f'"{r["goldstein"]}"^^xsd:decimal'),
            ("skos:closeMatch", iris("plover", [t for t, _, _ in maps])),
            ("dip:ploverMode", iris("pmode", [m for _, m, _ in maps if m])),
            ("dip:ploverContext", iris("pctx", [c for _, _, cs in maps for c in cs]))])
    return "\n".join(lines)


def build_plover(xwalk):
    rows = [x for v in xwalk.values() for x in v]
    used = ({t for t, _, _ in rows}, {m for _, m, _ in rows if m}, {c for _, _, cs in rows for c in cs})
    types, modes, ctxs = ({k.lstrip("*"): (v, k[0] == "*") for k, v in d.items()} for d in (TYPES, MODES, CONTEXTS))
    for kind, have, need in zip(("type", "mode", "context"), (types, modes, ctxs), used):
        if need - set(have):  # every term must carry an honest definition, so new ones need a human first
            sys.exit(f"crosswalk uses PLOVER {kind}s without a definition here: {sorted(need - set(have))}")
    lines = header(["dct", "owl", "pctx", "plover", "pmode", "skos", "vann", "xsd"], "plover:scheme",
                   scheme_props("PLOVER event types", "The event types of PLOVER (Political Language Ontology for "
                                "Verifiable Event Records, Open Event Data Alliance, draft 0.8 of 2021) as a SKOS "
                                "concept scheme, plus deprecated types of earlier drafts.",
                                [SRC_XWALK, SRC_MANUAL], "plover", PLOVER)
                   + [("skos:hasTopConcept", ", ".join(f"plover:{t}" for t in sorted(types)))])
    for ns, kind, terms in (("pmode", "modes", modes), ("pctx", "contexts", ctxs)):
        lines += block(f"{ns}:scheme", [
            ("a", "skos:ConceptScheme"), ("dct:title", lit(f"PLOVER {kind}")), ("dct:license", f"<{LICENSE}>"),
            ("dct:description", lit(f"The PLOVER {kind} used in CAMEO2PLOVER-2021.txt; labels and notations are "
                                    "the crosswalk's own strings.")), ("dct:source", f"<{SRC_XWALK}>, <{SRC_MANUAL}>"),
            ("skos:hasTopConcept", ", ".join(f"{ns}:{t}" for t in sorted(terms)))])
    for ns, terms in (("plover", types), ("pmode", modes), ("pctx", ctxs)):
        for name in sorted(terms):
            text, inferred = terms[name]
            lines += block(f"{ns}:{name}", [
                ("a", "skos:Concept"), ("skos:inScheme", f"{ns}:scheme"), ("skos:topConceptOf", f"{ns}:scheme"),
                ("skos:notation", lit(name, None)), ("skos:prefLabel", lit(name)), ("skos:definition", lit(text)),
                ("skos:editorialNote", lit(INFERRED) if inferred else None)])
    for name, (successor, text) in sorted(OLD_TYPES.items()):
        lines += block(f"plover:{name}", [
            ("a", "skos:Concept"), ("skos:inScheme", "plover:scheme"), ("skos:notation", lit(name, None)),
            ("skos:prefLabel", lit(name)), ("skos:definition", lit(text)), ("owl:deprecated", "true"),
            ("dct:isReplacedBy", f"plover:{successor}"),
            ("skos:historyNote", lit(f"A category of earlier PLOVER drafts; the 2021 crosswalk uses {successor} instead."))])
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codebook", type=Path, default=ROOT / "data/reference/cameo-codes.csv")
    ap.add_argument("--crosswalk", type=Path, default=ROOT / "data/reference/CAMEO2PLOVER-2021.txt")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "ontology")
    ap.add_argument("--check", action="store_true", help="exit 1 if the files in --out-dir differ from the output")
    args = ap.parse_args(argv)
    codes, xwalk = read_codebook(args.codebook), read_crosswalk(args.crosswalk)
    for code in sorted(set(xwalk) - set(codes)):  # reported, not invented: the codebook is the authority
        print(f"note: crosswalk code {code} is not in the codebook; skipped", file=sys.stderr)
    xwalk = {c: v for c, v in xwalk.items() if c in codes}
    for code, r in sorted(codes.items()):
        if r["unrepaired"]:
            print(f"note: {code}: unrecoverable characters kept as given: {r['unrepaired']}", file=sys.stderr)
    outputs = {"cameo.ttl": build_cameo(codes, xwalk), "plover.ttl": build_plover(xwalk)}
    if not args.check:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in outputs.items():
            (args.out_dir / name).write_bytes(text.encode("utf-8"))
    stale = [str(args.out_dir / n) for n, t in outputs.items()
             if not (args.out_dir / n).is_file() or (args.out_dir / n).read_bytes() != t.encode("utf-8")]
    if stale:
        print("out of date: " + ", ".join(stale) + "\nrun: python scripts/build_event_type_schemes.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
