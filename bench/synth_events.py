"""Events of bench/generate.py: one maker per event type, dating at mixed precision, and sources
whose publication never precedes what they report as having occurred."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from dipkb.model.temporal import EventTime, period_of
from synth_world import NS, Dice, World, iso, lit, month_bounds, table, typed

QUOTES = {  # (language, weight, templates); {b} is the other side's short name
    "en": (70, ["We will not allow anyone to use our territory against {b}.",
                "Our relations with {b} have never been stronger.", "{b} must stop its provocations at once.",
                "We are ready to resume talks with {b} without preconditions."]),
    "fr": (8, ["Nous ne laisserons personne utiliser notre territoire contre {b}.",
               "Nos relations avec {b} n'ont jamais été aussi solides."]),
    "es": (8, ["No permitiremos que nadie use nuestro territorio contra {b}.",
               "Estamos dispuestos a reanudar el diálogo con {b} sin condiciones previas."]),
    "ru": (6, ["Мы не позволим никому использовать нашу территорию против {b}.",
               "Наши отношения с {b} крепки как никогда."]),
    "ar": (4, ["لن نسمح لأحد باستخدام أراضينا ضد {b}."]),
    "zh": (4, ["我们不会允许任何人利用我们的领土反对{b}。"]),
}
PURPOSES = ["to discuss border security", "to prepare a trade agreement", "to discuss energy cooperation",
            "to coordinate a response to the crisis in {c}", "to seek support against {c}",
            "to reassure {c} of stability in the region"]


@dataclass
class Source:
    iri: str
    issued: int
    props: list[tuple[str, str]]
    reporter: str | None  # who an event citing it is dip:reportedBy (the agency, the ministry)


@dataclass
class Ev:
    num: int
    cls: str
    state: int  # the main state, for official sources
    label: str = ""
    roles: list[tuple[str, str]] = field(default_factory=list)  # roles and places, before the time
    extra: list[tuple[str, str]] = field(default_factory=list)  # content, quote, counts, after it
    times: list[tuple[str, str, str]] = field(default_factory=list)  # (property, lexical, datatype)
    modality: str = "Occurred"
    sources: list[Source] = field(default_factory=list)
    quoted: bool = False
    prop: Ev | None = None  # the claimed or assessed state of affairs, itself an event
    inline: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)  # a formed alliance
    low: int = 0  # first day of the time given
    need: int = 0  # a report of the event is not issued before this day

    @property
    def iri(self) -> str:
        return f"event:syn-{self.num:07d}"


ROLES = ("dip:agent", "dip:host", "dip:visitor", "dip:attendee", "dip:speaker", "dip:addressee",
         "dip:movingForce", "dip:causedBy", "dip:target", "dip:supporter", "dip:beneficiary", "dip:founder")
POINT = table([("day", 50), ("month", 30), ("year", 4), ("latest", 10), ("interval", 6)])
LASTING = table([("interval", 55), ("earliest", 20), ("day", 10), ("month", 15)])
SAID = table([("day", 60), ("month", 30), ("latest", 10)])
STYLE_OF_MODALITY = {"Ongoing": table([("start", 60), ("latest", 40)]), "Planned": table([("day", 60), ("month", 40)])}
LANGS = table((lang, weight) for lang, (weight, _) in QUOTES.items())
SOURCE_KINDS = table([("NewsArticle", 70), ("AgencyReport", 15), ("OfficialStatement", 15)])


class Gen:
    """Draws actors, places and texts for one chunk of events."""

    def __init__(self, world: World, rng: Dice, chunk: int):
        self.w, self.rng, self.chunk, self.recent, self.sources = world, rng, chunk, [], []

    def state(self, *avoid: int) -> int:
        while True:
            s = self.rng.weighted(self.w.zipf)
            if s not in avoid:
                return s

    def rep(self, s: int, *keys: str) -> int:
        key = self.rng.pick(keys)
        return self.w.kits[s].state if key == "state" else self.w.kits[s].body[key]

    def name(self, a: int) -> str:
        return self.w.actors[a].label

    def short(self, s: int) -> str:
        return self.w.actors[self.w.kits[s].state].short

    def role(self, ev: Ev, pred: str, a: int) -> None:
        ev.roles.append((pred, self.w.actors[a].iri))

    def place(self, ev: Ev, pred: str, place: str) -> str:
        ev.roles.append((pred, place))
        return self.w.place_labels[place]

    def modality(self, ev: Ev, **weights: float) -> None:
        ev.modality = self.rng.weighted(table(weights.items()))

    def speaker(self, ev: Ev, s: int) -> str:
        who = self.rep(s, "spok", "fmin", "head", "fm", "state")
        self.role(ev, "dip:speaker", who)
        if who != self.w.kits[s].state:
            ev.extra.append(("dip:onBehalfOf", self.w.actors[self.w.kits[s].state].iri))
        return self.name(who)

    def quote(self, ev: Ev, b: int) -> None:
        lang = self.rng.weighted(LANGS)
        ev.extra.append(("dip:quote", lit(self.rng.pick(QUOTES[lang][1]).format(b=self.short(b)), lang)))

    def purpose(self, ev: Ev, c: int) -> None:
        ev.extra.append(("dip:purpose", lit(self.rng.pick(PURPOSES).format(c=self.short(c)))))

    def count(self, ev: Ev) -> None:
        if self.rng.chance(0.6):
            ev.extra.append(("dip:personnelCount", str(50 * (1 + self.rng.below(400)))))
        else:
            low, words = self.rng.pick([(200, "hundreds of troops"), (1000, "more than 1,000 troops"),
                                        (2000, "thousands of troops")])
            ev.extra += [("dip:minPersonnelCount", str(low)), ("dip:quantityExpression", lit(words))]


def meeting(g: Gen, ev: Ev, a: int, b: int) -> None:
    city = g.place(ev, "dip:place", g.rng.pick(g.w.kits[a].cities))
    if g.rng.chance(0.15):
        people = [g.rep(s, "head", "fmin") for s in (a, b, g.state(a, b))]
        ev.roles[:0] = [("dip:attendee", g.w.actors[p].iri) for p in people]
        ev.label = f"{g.name(people[0])}, {g.name(people[1])} and {g.name(people[2])} meet in {city}"
    else:
        host, visitor = g.rep(a, "head", "fmin", "dmin", "state"), g.rep(b, "fmin", "head", "dmin")
        ev.roles[:0] = [("dip:host", g.w.actors[host].iri), ("dip:visitor", g.w.actors[visitor].iri)]
        ev.label = f"{g.name(visitor)} meets {g.name(host)} in {city}"
    if g.rng.chance(0.3):
        g.purpose(ev, g.state(a, b))
    g.modality(ev, Occurred=92, Planned=8)


def visit(g: Gen, ev: Ev, a: int, b: int) -> None:
    visitor = g.rep(b, "head", "fmin", "fm")
    g.role(ev, "dip:visitor", visitor)
    g.role(ev, "dip:host", g.w.kits[a].state)
    g.place(ev, "dip:place", g.w.kits[a].cities[0])
    ev.label = f"{g.name(visitor)} visits {g.name(g.w.kits[a].state)}"
    g.purpose(ev, g.state(a, b))
    g.modality(ev, Occurred=88, Planned=8, Possible=4)


def statement(g: Gen, ev: Ev, a: int, b: int) -> None:
    who = g.speaker(ev, a)
    g.quote(ev, b)
    ev.extra += [("dip:content", lit(f"{who} described the state of relations with {g.short(b)}.")),
                 ("dip:about", g.w.actors[g.w.kits[b].state].iri)]
    ev.label, ev.quoted = f"{who} speaks on relations with {g.short(b)}", True


def assurance(g: Gen, ev: Ev, a: int, b: int) -> None:
    who = g.speaker(ev, a)
    g.role(ev, "dip:addressee", g.w.kits[b].state)
    ev.extra.append(("dip:content", lit(f"{g.short(a)} will not allow its territory to be used against {g.short(b)}.")))
    if g.rng.chance(0.4):
        g.quote(ev, b)
        ev.quoted = True
    ev.label = f"{who} assures {g.short(b)} on border security"


def concern(g: Gen, ev: Ev, a: int, b: int) -> None:
    who = g.speaker(ev, a)
    region = g.w.kits[b].region
    ev.extra += [("dip:content", lit(f"Violence in {g.w.place_labels[region]} could destabilise the region.")),
                 ("dip:about", region)]
    ev.label = f"{who} voices concern over {g.w.place_labels[region]}"


def claim(g: Gen, ev: Ev, a: int, b: int) -> None:
    group, spokesman, home = g.rng.pick(g.w.groups)
    g.role(ev, "dip:speaker", spokesman)
    share = 10 * (2 + g.rng.below(8))
    ev.extra += [("dip:onBehalfOf", g.w.actors[group].iri),
                 ("dip:content", lit(f"{g.name(group)} controls over {share}% of {g.short(home)}."))]
    ev.prop = Ev(ev.num + 1, "TerritorialControl", home, modality="Claimed",
                 label=f"{g.name(group)} control over {share}% of {g.short(home)} (claimed)")
    g.role(ev.prop, "dip:agent", group)
    g.place(ev.prop, "dip:place", g.w.kits[home].country)
    ev.prop.extra += [("dip:territoryShareMin", typed(str(share), "decimal")),
                      ("dip:quantityExpression", lit(f"over {share}% of the territory"))]
    ev.extra.append(("dip:proposition", ev.prop.iri))
    ev.label = f"{g.name(group)} claims to control over {share}% of {g.short(home)}"


def assessment(g: Gen, ev: Ev, a: int, b: int) -> None:
    analyst, c = g.rng.pick(g.w.analysts), g.state(a, b)
    g.role(ev, "dip:speaker", analyst)
    text = f"{g.short(a)} and {g.short(b)} are weighing a joint response to {g.short(c)}."
    ev.extra.append(("dip:quote", lit(text)))
    ev.prop = Ev(ev.num + 1, "PolicyDeliberation", a, modality="Possible",
                 label=f"{g.short(a)} and {g.short(b)} weigh a joint response to {g.short(c)}")
    for s, pred in ((a, "dip:agent"), (b, "dip:agent"), (c, "dip:target")):
        g.role(ev.prop, pred, g.w.kits[s].state)
    ev.prop.extra.append(("dip:content", lit(text)))
    ev.extra.append(("dip:proposition", ev.prop.iri))
    ev.label, ev.quoted = f"{g.name(analyst)} assesses {g.short(a)}–{g.short(b)} deliberations", True


def appeal(g: Gen, ev: Ev, a: int, b: int) -> None:
    agent = g.rep(a, "state", "gov")
    g.role(ev, "dip:agent", agent)
    g.role(ev, "dip:addressee", g.w.kits[b].state)
    g.purpose(ev, g.state(a, b))
    ev.label = f"{g.name(agent)} courts {g.short(b)} for support"
    g.modality(ev, Occurred=75, Ongoing=25)


def troop_movement(g: Gen, ev: Ev, a: int, b: int) -> None:
    g.role(ev, "dip:movingForce", g.w.kits[a].body["mil"])
    kit_a, kit_b, forces = g.w.kits[a], g.w.kits[b], g.name(g.w.kits[a].body["mil"])
    if ev.cls == "Retreat":
        g.role(ev, "dip:causedBy", g.rng.pick(g.w.groups)[0] if g.rng.chance(0.5) else kit_b.body["mil"])
        g.place(ev, "dip:origin", kit_a.country)
        there = g.place(ev, "dip:destination", kit_b.country)
        ev.label = f"{forces} flee into {there}"
    elif ev.cls == "Withdrawal":
        g.role(ev, "dip:agent", kit_a.state)
        there = g.place(ev, "dip:origin", g.rng.pick([kit_b.country, kit_b.base]))
        g.place(ev, "dip:destination", kit_a.country)
        ev.label = f"{forces} withdraw from {there}"
        g.modality(ev, Occurred=80, Ongoing=15, Planned=5)
    else:
        g.role(ev, "dip:agent", kit_a.state)
        g.place(ev, "dip:origin", kit_a.country)
        there = g.place(ev, "dip:destination", g.rng.pick([kit_b.base, kit_b.cities[1], kit_a.region]))
        ev.label = f"{forces} deploy to {there}"
        g.modality(ev, Occurred=85, Planned=10, Ongoing=5)
    g.count(ev)


def basing(g: Gen, ev: Ev, a: int, b: int) -> None:
    g.role(ev, "dip:agent", g.w.kits[a].state)
    base = g.place(ev, "dip:place", g.w.kits[a].base)
    if ev.cls == "BaseActivation":
        g.role(ev, "dip:target", g.w.kits[b].state)
        ev.extra.append(("dip:purpose", lit(f"against the threat from {g.short(b)}")))
        g.modality(ev, Occurred=75, Planned=25)
    ev.label = f"{g.short(a)} {'activates' if ev.cls == 'BaseActivation' else 'closes'} the {base}"


def conflict(g: Gen, ev: Ev, a: int, b: int) -> None:
    group, _, group_home = g.rng.pick(g.w.groups)
    agent, home = (group, group_home) if g.rng.chance(0.4) else (g.w.kits[a].body["mil"], b)
    g.role(ev, "dip:agent", agent)
    g.role(ev, "dip:target", g.w.kits[home].body["gov"])
    if ev.cls == "TerritorialCapture":
        city = g.place(ev, "dip:place", g.rng.pick(g.w.kits[home].cities))
        ev.label = f"{g.name(agent)} take {city}"
    else:
        g.place(ev, "dip:place", g.w.kits[home].country)
        ev.extra.append(("dip:content", lit(f"{g.name(agent)} intensified operations in {g.short(home)}.")))
        ev.label = f"{g.name(agent)} fight government forces in {g.short(home)}"
        g.modality(ev, Occurred=70, Ongoing=30)


def alliance(g: Gen, ev: Ev, a: int, b: int) -> None:
    members = [a, b] + ([g.state(a, b)] if g.rng.chance(0.4) else [])
    for s in members:
        g.role(ev, "dip:founder", g.w.kits[s].state)
    name = "–".join(g.short(s) for s in members) + g.rng.pick([" Defence Pact", " Security Compact", " Alliance"])
    iri = f"actor:syn-alliance-{ev.num:07d}"  # defined here so that each events file stands alone
    ev.inline.append((iri, [("a", "dip:Alliance"), ("rdfs:label", lit(f"{name} ({ev.num})"))]))
    ev.extra.append(("dip:formedActor", iri))
    ev.label = f"{' and '.join(g.short(s) for s in members)} form the {name}"


def support(g: Gen, ev: Ev, a: int, b: int) -> None:
    group = g.rng.pick(g.w.groups)[0]
    beneficiary = group if g.rng.chance(0.3) else g.w.kits[b].body["gov"]
    g.role(ev, "dip:supporter", g.w.kits[a].state)
    g.role(ev, "dip:beneficiary", beneficiary)
    ev.extra.append(("dip:content", lit(f"{g.short(a)} supplies arms and funds to {g.name(beneficiary)}.")))
    ev.label = f"{g.short(a)} backs {g.name(beneficiary)}"
    g.modality(ev, Occurred=85, Ongoing=15)


def deliberation(g: Gen, ev: Ev, a: int, b: int) -> None:
    c = g.state(a, b)
    for s, pred in ((a, "dip:agent"), (b, "dip:agent"), (c, "dip:target")):
        g.role(ev, pred, g.w.kits[s].state)
    ev.extra.append(("dip:content", lit(f"{g.short(a)} and {g.short(b)} consider sanctions against {g.short(c)}.")))
    ev.label, ev.modality = f"{g.short(a)} and {g.short(b)} mull sanctions against {g.short(c)}", "Possible"


# kind: (maker, weight, time styles, takes two event slots)
KINDS = {"Meeting": (meeting, 14, POINT), "Visit": (visit, 10, POINT), "Statement": (statement, 14, SAID),
         "Claim": (claim, 4, SAID), "Assurance": (assurance, 5, SAID), "ExpressionOfConcern": (concern, 7, SAID),
         "Assessment": (assessment, 3, SAID), "Appeal": (appeal, 5, POINT), "Deployment": (troop_movement, 5, POINT),
         "Withdrawal": (troop_movement, 3, LASTING), "Retreat": (troop_movement, 2, POINT),
         "BaseActivation": (basing, 2, POINT), "BaseClosure": (basing, 1.5, POINT),
         "ArmedConflict": (conflict, 5, LASTING), "TerritorialCapture": (conflict, 3, POINT),
         "AllianceFormation": (alliance, 1, POINT), "MaterialSupport": (support, 6, LASTING),
         "PolicyDeliberation": (deliberation, 3, POINT)}
PAIRED = ("Claim", "Assessment")
ANY_KIND = table((k, v[1]) for k, v in KINDS.items())
SINGLE_KIND = table((k, v[1]) for k, v in KINDS.items() if k not in PAIRED)


def set_time(g: Gen, ev: Ev, style: str, ref: int) -> None:
    """Date the event at one precision; ``low`` is its first possible day and ``need`` the day after
    which every part of its time is past, so a source reporting it as occurred is not issued earlier."""
    rng, d = g.rng, date.fromordinal(ref)
    m_first, m_last = month_bounds(ref)
    if style == "day":
        ev.times, ev.low, ev.need = [("date", iso(ref), "date")], ref, ref
    elif style == "month":
        ev.times, ev.low, ev.need = [("date", iso(ref)[:7], "gYearMonth")], m_first, m_last
    elif style == "year":
        ev.times, ev.low, ev.need = [("date", str(d.year), "gYear")], date(d.year, 1, 1).toordinal(), \
            date(d.year, 12, 31).toordinal()
    elif style == "latest":  # "recently": no later than the month of the report
        ev.times, ev.low, ev.need = [("latestDate", iso(ref)[:7], "gYearMonth")], m_first, m_last
        ev.extra.append(("dip:timeExpression", lit(rng.pick(["recently", "of late", "earlier"]))))
    elif style == "earliest":  # "since 1996": a lower bound and nothing else
        ev.times, ev.low, ev.need = [("earliestDate", str(d.year), "gYear")], date(d.year, 1, 1).toordinal(), \
            date(d.year, 12, 31).toordinal()
        ev.extra.append(("dip:timeExpression", lit(f"since {d.year}")))
    elif style == "start":  # ongoing, end open
        ev.times, ev.low, ev.need = [("startDate", iso(ref), "date")], ref, ref
    else:  # an interval; the end starts strictly after the start's last day at either precision
        by_month = rng.chance(0.3)
        start = ("startDate", iso(ref)[:7], "gYearMonth") if by_month else ("startDate", iso(ref), "date")
        start_last = m_last if by_month else ref
        end = start_last + 1 + rng.below(120)
        if by_month:
            end_first, end_last = month_bounds(end)
            ev.times, ev.need = [start, ("endDate", iso(end)[:7], "gYearMonth")], end_last
        else:
            ev.times, ev.need = [start, ("endDate", iso(end), "date")], end
        ev.low = m_first if by_month else ref


def new_source(g: Gen, ev: Ev, issued: int) -> Source:
    kind, w = g.rng.weighted(SOURCE_KINDS), g.w
    iri = f"source:syn-{g.chunk + 1:05d}-{len(g.sources) + 1:04d}"
    props = [("a", f"dip:{kind}")]
    if kind == "NewsArticle":
        outlet = g.rng.pick(w.media)
        host = w.actors[outlet].label.lower().replace(" ", "-")
        url = f"https://{host}.example.com/{iso(issued).replace('-', '/')}/{iri.removeprefix('source:syn-')}"
        props += [("dct:title", lit(ev.label)), ("dct:issued", typed(iso(issued), "date")),
                  ("dip:url", typed(url, "anyURI")), ("dip:issuedBy", w.actors[outlet].iri)]
        reporter = None
    else:
        issuer = g.rng.pick(w.media) if kind == "AgencyReport" else w.kits[ev.state].body["fm"]
        word = "report" if kind == "AgencyReport" else "statement"
        reporter = w.actors[issuer].iri
        props += [("rdfs:label", lit(f"{g.name(issuer)} {word}: {ev.label}")),
                  ("dct:issued", typed(iso(issued), "date")), ("dip:issuedBy", reporter)]
    source = Source(iri, issued, props, reporter)
    g.sources.append(source)
    g.recent = (g.recent + [source])[-4:]
    return source


def cite(g: Gen, ev: Ev) -> None:
    """One source, sometimes two. A planned event is reported before its date; anything else at or
    after ``need``. Recent sources of the chunk are reused, as one article reports several events."""
    planned = ev.modality == "Planned"
    fits = (lambda s: s.issued < ev.low) if planned else (lambda s: s.issued >= ev.need)
    for source in reversed(g.recent):
        if fits(source) and g.rng.chance(0.5):
            ev.sources.append(source)
            break
    while not ev.sources or (len(ev.sources) == 1 and g.rng.chance(0.15)):
        lag = g.rng.random() ** 2
        issued = ev.low - 1 - int(lag * 60) if planned else ev.need + int(lag * 14)
        ev.sources.append(new_source(g, ev, issued))


def props_of(ev: Ev) -> list[tuple[str, str]]:
    """The event's triples in the order of kb/*.ttl: type, label, roles, time, modality, the rest, sources."""
    props = [("a", f"dip:{ev.cls}"), ("rdfs:label", lit(ev.label)), *ev.roles]
    props += [(f"dip:{p}", typed(lexical, datatype)) for p, lexical, datatype in ev.times]
    props.append(("dip:modality", f"dip:{ev.modality}"))
    props += ev.extra
    if ev.sources:
        if ev.sources[0].reporter:
            props.append(("dip:reportedBy", ev.sources[0].reporter))
        if ev.quoted:
            props.append(("dip:quotedIn", ev.sources[0].iri))
        props += [("dip:source", s.iri) for s in ev.sources]
    return props


TIME_FIELDS = {"date": "date", "startDate": "start", "endDate": "end", "earliestDate": "earliest",
               "latestDate": "latest"}


def day_bounds(ev: Ev) -> tuple[date | None, date | None]:
    """The first and last day the index files the event under, by dipkb's own rules (dipkb.model.temporal),
    so the printed timeline size is what the index will find."""
    fields = {}
    for p, lexical, datatype in ev.times:
        period = period_of(lexical, NS["xsd"] + datatype)
        if period:
            fields[TIME_FIELDS[p]] = period
    return EventTime(**fields).bounds()
