/* dipkb's timeline: draws the events embedded in #dipkb-data as cards on one time axis.
 *
 * The served pages embed one page of events, already filtered by the server (the form is a GET);
 * the exported file embeds every event with its filter keys, and this script filters and pages
 * them itself, with the server's semantics, keeping the filters in the address's #fragment.
 * Everything is built with DOM calls (no HTML strings), and styles set through the CSSOM, which
 * the pages' Content-Security-Policy allows.
 */
(function () {
  "use strict";

  var source = document.getElementById("dipkb-data");
  if (!source) return;
  var data = JSON.parse(source.textContent);
  var SERVED = data.mode !== "static";
  var PAGE_KINDS = ["event", "actor", "place", "source", "position"];
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];
  var DAY = 86400000;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* The served page of a CURIE (actor:russia is at /actor/russia); the file has none. */
  function pageOf(id) {
    if (!SERVED || !id) return null;
    var at = id.indexOf(":");
    var kind = id.slice(0, at);
    return PAGE_KINDS.indexOf(kind) >= 0 ? "/" + kind + "/" + encodeURIComponent(id.slice(at + 1)) : null;
  }

  /* Only web links: a javascript: or data: URL in the KB must not become a live link in the page
     (a file's policy lets inline script run, and a served page's would only block it). */
  function webLink(url) {
    return /^https?:\/\//i.test(url || "") ? url : null;
  }

  function linked(text, href, className) {
    var node = el(href ? "a" : "span", className, text);
    if (href) node.href = href;
    return node;
  }

  /* ---------------------------------------------------------------- dates at their precision */

  var PARTIAL = /^(-?\d{4,})(?:-(\d{2})(?:-(\d{2}))?)?(?:Z|[+-]\d{2}:\d{2})?(?:T([\d:.]+).*)?$/;

  function pad(n, width) {
    var text = String(Math.abs(n));
    while (text.length < width) text = "0" + text;
    return (n < 0 ? "-" : "") + text;
  }

  function utc(year, month, day) {  /* month 0-11; Date.UTC would read years 0-99 as 1900-1999 */
    var time = new Date(0);
    time.setUTCFullYear(year, month, day);
    return time.getTime();
  }

  function daysIn(year, month) {
    return new Date(utc(year, month + 1, 0)).getUTCDate();
  }

  /* A date at year, month or day precision: its first and last days (ms and ISO). Its words come
     with the event (`words`, written by dipkb's temporal module), not from here. */
  function period(text) {
    var m = PARTIAL.exec(text);
    if (!m) return null;
    var year = Number(m[1]);
    if (!m[2]) {
      return {lo: utc(year, 0, 1), hi: utc(year, 11, 31), first: pad(year, 4) + "-01-01",
        last: pad(year, 4) + "-12-31", uncertain: false};
    }
    var month = Number(m[2]) - 1;
    if (month < 0 || month > 11) return null;
    var ym = pad(year, 4) + "-" + m[2];
    if (!m[3]) {
      var days = daysIn(year, month);
      return {lo: utc(year, month, 1), hi: utc(year, month, days), first: ym + "-01", last: ym + "-" + pad(days, 2),
        uncertain: false};
    }
    var day = Number(m[3]);
    if (day < 1 || day > daysIn(year, month)) return null;
    var at = utc(year, month, day);
    return {lo: at, hi: at, first: ym + "-" + m[3], last: ym + "-" + m[3], uncertain: false};
  }

  /* Where an event's date (as `dipkb timeline` writes it) lies: lo/hi in ms, null for an open side.
     "[a..b]" has only bounds (uncertain); "s/e" is an interval whose sides may be open or bounded. */
  function extent(text) {
    if (!text) return null;
    var bounds = /^\[(.*)\.\.(.*)\]$/.exec(text);
    if (bounds) {
      var after = bounds[1] ? period(bounds[1]) : null;
      var before = bounds[2] ? period(bounds[2]) : null;
      if (!after && !before) return null;
      return {lo: after ? after.lo : null, hi: before ? before.hi : null, uncertain: true};
    }
    var slash = text.indexOf("/");
    if (slash < 0) return period(text);
    var start = text.slice(0, slash) === ".." ? null : extent(text.slice(0, slash));
    var end = text.slice(slash + 1) === ".." ? null : extent(text.slice(slash + 1));
    if (!start && !end) return null;
    return {
      lo: start ? start.lo : null, hi: end ? end.hi : null,
      uncertain: !start || !end || start.uncertain || end.uncertain
    };
  }

  /* ---------------------------------------------------------------- the axis */

  function domainOf(extents) {
    var lo = Infinity, hi = -Infinity;
    extents.forEach(function (x) {
      if (!x) return;
      [x.lo, x.hi].forEach(function (t) {
        if (t !== null) { lo = Math.min(lo, t); hi = Math.max(hi, t + DAY); }
      });
    });
    if (lo === Infinity) return null;
    var margin = Math.max((hi - lo) * 0.02, 3 * DAY);  /* room for open sides to fade into */
    return {lo: lo - margin, hi: hi + margin};
  }

  function percent(time, domain) {
    return Math.min(100, Math.max(0, (time - domain.lo) / (domain.hi - domain.lo) * 100));
  }

  /* As many ticks as the axis has room for, at most eight: "29 Jun 2021" takes about 90 px, a year 45. */
  function ticks(domain, width) {
    var start = new Date(domain.lo), end = new Date(domain.hi), found = [];
    var years = (domain.hi - domain.lo) / (365.25 * DAY), months = years * 12, days = (domain.hi - domain.lo) / DAY;
    function step(count, steps, room) {
      var most = Math.max(1, Math.min(8, Math.floor(width / room)));
      return steps.filter(function (s) { return count / s <= most; })[0] || steps[steps.length - 1];
    }
    var y, m, t;
    if (years >= 3) {
      var every = step(years, [1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000], 45);
      for (y = Math.ceil(start.getUTCFullYear() / every) * every; (t = utc(y, 0, 1)) <= domain.hi; y += every) {
        if (t >= domain.lo) found.push({at: t, label: String(y)});
      }
    } else if (days >= 60) {
      var monthly = step(months, [1, 2, 3, 6, 12], 80);
      for (y = start.getUTCFullYear(), m = 0; (t = utc(y, m, 1)) <= domain.hi; m += monthly) {
        if (t >= domain.lo) found.push({at: t, label: MONTHS[new Date(t).getUTCMonth()].slice(0, 3) + " " + new Date(t).getUTCFullYear()});
      }
    } else {
      var daily = step(days, [1, 2, 7, 14, 28], 90);
      for (t = utc(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate() + 1); t <= end.getTime(); t += daily * DAY) {
        var d = new Date(t);
        found.push({at: t, label: d.getUTCDate() + " " + MONTHS[d.getUTCMonth()].slice(0, 3) + " " + d.getUTCFullYear()});
      }
    }
    return found;
  }

  function drawAxis(axis, domain) {
    axis.textContent = "";
    axis.hidden = !domain;
    if (!domain) return;
    ticks(domain, axis.clientWidth).forEach(function (tick) {
      var mark = el("span", "tick", tick.label);
      mark.style.left = percent(tick.at, domain) + "%";
      axis.appendChild(mark);
    });
  }

  /* ---------------------------------------------------------------- one event */

  function words(type) {  /* dip:ExpressionOfConcern -> Expression of concern */
    var local = type.slice(type.indexOf(":") + 1).replace(/([a-z])([A-Z])/g, "$1 $2");
    return local.charAt(0) + local.slice(1).toLowerCase();
  }

  function bar(x, domain) {
    var track = el("div", "track");
    track.setAttribute("aria-hidden", "true");
    if (!x || !domain) return track;
    var lo = x.lo === null ? domain.lo : x.lo;
    var hi = x.hi === null ? domain.hi : x.hi + DAY;
    var span = el("span", "span" + (x.uncertain ? " uncertain" : "") + (x.lo === null ? " open-start" : "")
      + (x.hi === null ? " open-end" : ""));
    span.style.left = percent(lo, domain) + "%";
    span.style.width = (percent(hi, domain) - percent(lo, domain)) + "%";
    track.appendChild(span);
    return track;
  }

  function card(ev, domain) {
    var x = extent(ev.date);
    var item = el("li", "event m-" + ev.modality + (ev.context ? " context" : ""));
    item.setAttribute("data-id", ev.id);
    item.appendChild(bar(x, domain));

    var head = el("p", "head");
    var when = el("span", "date" + (x && x.uncertain ? " uncertain" : ""), ev.date || "undated");
    if (ev.words) when.title = ev.words;
    head.appendChild(when);
    if (ev.words && ev.words !== ev.date) head.appendChild(el("span", "when", ev.words));
    head.appendChild(el("span", "type", words(ev.type)));
    if (ev.modality !== "occurred") head.appendChild(el("span", "badge m-" + ev.modality, ev.modality));
    if (ev.context) head.appendChild(el("span", "badge context", "background"));
    item.appendChild(head);

    var title = el("h3", "label");
    title.appendChild(linked(ev.label || ev.id, pageOf(ev.id)));
    item.appendChild(title);

    var places = [[" in ", ev.place], [" from ", ev.origin], [" to ", ev.destination]].filter(function (p) { return p[1]; });
    if (ev.participants.length || places.length) {
      var who = el("p", "who");
      ev.participants.forEach(function (p, i) {
        if (i) who.appendChild(document.createTextNode(", "));
        var person = el("span", "participant");
        person.appendChild(linked(p.label, pageOf(p.id), "actor"));
        person.appendChild(el("span", "role", p.role));
        who.appendChild(person);
      });
      places.forEach(function (p, i) {
        var word = i || ev.participants.length ? p[0] : p[0].charAt(1).toUpperCase() + p[0].slice(2);
        who.appendChild(document.createTextNode(word));
        who.appendChild(linked(p[1].label, pageOf(p[1].id), "place"));
      });
      item.appendChild(who);
    }
    (ev.quotes || []).forEach(function (quote) { item.appendChild(el("blockquote", "quote", quote)); });
    (ev.contents || []).forEach(function (content) { item.appendChild(el("p", "content", content)); });

    if (ev.sources.length) {
      var sources = el("p", "sources", "Sources: ");
      ev.sources.forEach(function (s, i) {
        if (i) sources.appendChild(document.createTextNode("; "));
        if (webLink(s.url)) {
          var out = linked(s.title, webLink(s.url), "source external");
          out.rel = "noopener noreferrer";
          sources.appendChild(out);
          if (pageOf(s.id)) {
            sources.appendChild(document.createTextNode(" "));
            sources.appendChild(linked("(record)", pageOf(s.id), "record"));
          }
        } else {
          sources.appendChild(linked(s.title, pageOf(s.id), "source"));
        }
      });
      item.appendChild(sources);
    }
    return item;
  }

  /* ---------------------------------------------------------------- the list and its pages */

  function pager(nav, total, page, hrefFor) {
    nav.textContent = "";
    var pages = Math.ceil(total / data.per_page);
    nav.hidden = pages <= 1;
    if (pages <= 1) return;
    function go(n, text, className) {
      var a = el("a", className, text);
      a.href = hrefFor(n);
      if (n === page) a.setAttribute("aria-current", "page");
      nav.appendChild(a);
    }
    if (page > 1) go(page - 1, "← Previous", "previous");
    var shown = [1, page - 2, page - 1, page, page + 1, page + 2, pages].filter(function (n, i, all) {
      return n >= 1 && n <= pages && all.indexOf(n) === i;
    }).sort(function (a, b) { return a - b; });
    shown.forEach(function (n, i) {
      if (i && n - shown[i - 1] > 1) nav.appendChild(el("span", "gap", "…"));
      go(n, String(n), n === page ? "current" : "page");
    });
    if (page < pages) go(page + 1, "Next →", "next");
  }

  function show(events, total, offset, hrefFor) {
    var extents = events.map(function (ev) { return extent(ev.date); });
    var domain = domainOf(extents);
    drawAxis(document.getElementById("axis"), domain);
    var list = document.getElementById("events");
    list.textContent = "";
    list.start = offset + 1;
    events.forEach(function (ev) { list.appendChild(card(ev, domain)); });
    document.getElementById("count").textContent = total === 0 ? "No events."
      : "Events " + (offset + 1) + "–" + (offset + events.length) + " of " + total + ".";
    ["pager-top", "pager"].forEach(function (id) {
      pager(document.getElementById(id), total, Math.floor(offset / data.per_page) + 1, hrefFor);
    });
  }

  if (SERVED) {
    show(data.events, data.total, data.offset, function (page) {
      var params = new URLSearchParams(location.search);
      params.set("page", page);
      return "?" + params.toString();
    });
    return;
  }

  /* ---------------------------------------------------------------- the file's own filters */

  var lookups = data.lookups;

  function FilterError(message) { this.message = message; }

  function resolveIn(table, text, noun) {
    if (Object.prototype.hasOwnProperty.call(table, text)) return text;  /* a CURIE */
    var needle = text.toLowerCase();
    var hits = Object.keys(table).filter(function (id) {
      return table[id].some(function (name) { return name.toLowerCase() === needle; });
    }).sort();
    if (!hits.length) throw new FilterError("No " + noun + " named '" + text + "' among the events of this file.");
    if (hits.length > 1) {
      throw new FilterError("'" + text + "' is ambiguous, it matches: " + hits.map(function (id) {
        return id + " (" + table[id][0] + ")";
      }).join("; ") + ". Type one of these IDs instead.");
    }
    return hits[0];
  }

  /* A name first, then a state by its country's code as written (RUS, RU), as the server resolves an actor. */
  function resolveActor(text) {
    try {
      return resolveIn(lookups.actors, text, "actor");
    } catch (problem) {
      var states = Object.prototype.hasOwnProperty.call(lookups.codes, text) ? lookups.codes[text] : [];
      if (problem instanceof FilterError && states.length === 1 && !Object.keys(lookups.actors).some(function (id) {
        return lookups.actors[id].some(function (name) { return name.toLowerCase() === text.toLowerCase(); });
      })) return states[0];
      throw problem;
    }
  }

  /* As the server resolves a type: a class as typed, a CAMEO or PLOVER code as typed, then a class in
   * any case ("RETREAT" is PLOVER's type, "retreat" the class). */
  function resolveType(text) {
    var types = lookups.types, ids = Object.keys(types), lower = text.toLowerCase();
    function only(code, named) {
      var hits = ids.filter(function (id) { return types[id].code === code && types[id].keys.some(named); });
      return hits.length === 1 ? hits[0] : null;
    }
    var found = only(false, function (key) { return key === text; }) || only(true, function (key) { return key === text; })
      || only(false, function (key) { return key.toLowerCase() === lower; });
    if (found) return found;
    throw new FilterError("No event of this file has the type '" + text + "': use a dipkb class (Meeting), "
      + "a CAMEO code (042) or a PLOVER type (CONSULT).");
  }

  /* A role by its name or label in any case, spaces and case aside (moving force, movingForce), or its
   * CURIE, as the server resolves one; its family is the role and the roles below it. */
  function resolveRole(text) {
    function squashed(name) { return name.toLowerCase().replace(/[^\p{L}\p{N}]/gu, ""); }
    var wanted = squashed(text.replace(/^dip:/, "")), ids = Object.keys(lookups.roles);
    var found = ids.filter(function (id) {
      return id === text || lookups.roles[id].names.some(function (name) { return wanted && squashed(name) === wanted; });
    })[0];
    if (!found) {
      throw new FilterError("Unknown role '" + text + "': use one of " + ids.map(function (id) {
        return lookups.roles[id].local;
      }).sort().join(", ") + ".");
    }
    return lookups.roles[found].family;
  }

  function day(text, side) {
    var p = /^\d{4}(-\d{2}(-\d{2})?)?$/.test(text) && period(text);  /* as the server reads --from: 10000 is no date */
    if (!p) throw new FilterError("'" + text + "' is not a date: use YYYY, YYYY-MM or YYYY-MM-DD with a real day.");
    return side === "first" ? p.first : p.last;
  }

  /* The server's names and flags: a filter it has and the file has not is said, not left out. */
  var FILTERS = ["actor", "direct", "type", "place", "from", "to", "role", "modality", "page"];
  var FLAGS = {"": true, "1": true, "true": true, "yes": true, "on": true, "0": false, "false": false, "no": false,
    "off": false};

  function compile(params) {
    /* Composed (NFC), as the labels are: a name pasted from macOS comes decomposed, and matched none. */
    function given(name) {
      return params.getAll(name).map(function (v) { return v.trim().normalize("NFC"); }).filter(Boolean);
    }
    params.forEach(function (value, name) {
      if (FILTERS.indexOf(name) < 0) {
        throw new FilterError("This file cannot filter by '" + name + "'; it filters by " + FILTERS.slice(0, -1).join(", ")
          + ". `dipkb timeline` and the served page take the others.");
      }
    });
    var flag = (params.get("direct") || "false").trim().toLowerCase();
    if (!Object.prototype.hasOwnProperty.call(FLAGS, flag)) {
      throw new FilterError("Parameter 'direct' must be true or false; got '" + params.get("direct") + "'.");
    }
    var actors = given("actor").map(resolveActor);
    var direct = FLAGS[flag];
    var type = given("type").map(resolveType)[0];
    var place = given("place").map(function (p) { return resolveIn(lookups.places, p, "place"); })[0];
    var from = given("from").map(function (d) { return day(d, "first"); })[0];
    var to = given("to").map(function (d) { return day(d, "last"); })[0];
    if (from && to && from > to) throw new FilterError("The date range is empty: it starts on " + from + ", after its end on " + to + ".");
    var modalities = given("modality");
    var roles = given("role").map(resolveRole);
    /* In one of the roles, the filter's actor or, unless direct, one acting for it; without one, anyone. */
    function tookRole(pair) {
      if (!roles.some(function (family) { return family.indexOf(pair[0]) >= 0; })) return false;
      var counts = direct ? [pair[1]] : lookups.counts_for[pair[1]] || [pair[1]];
      return !actors.length || actors.some(function (a) { return counts.indexOf(a) >= 0; });
    }
    return function (ev) {
      var keys = ev.match;
      if (actors.length && !actors.some(function (a) { return (direct ? keys.direct : keys["for"]).indexOf(a) >= 0; })) return false;
      if (roles.length && !keys.roles.some(tookRole)) return false;
      if (type && keys.types.indexOf(type) < 0) return false;
      if (place && keys["in"].indexOf(place) < 0) return false;
      if (from || to) {  /* overlap; an undated event is in no range */
        var lo = ev.earliest_day, hi = ev.latest_day;
        if (!lo && !hi) return false;
        if (to && lo && lo > to) return false;
        if (from && hi && hi < from) return false;
      }
      return !modalities.length || modalities.indexOf(ev.modality) >= 0;
    };
  }

  var form = document.getElementById("filters");
  var error = document.getElementById("filter-error");

  function fill(params) {
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name) return;
      if (field.name === "direct") field.checked = FLAGS[(params.get("direct") || "false").trim().toLowerCase()] === true;
      else if (field.type === "checkbox") field.checked = params.getAll(field.name).indexOf(field.value) >= 0;
      else if (field.tagName === "INPUT") field.value = params.get(field.name) || "";
    });
  }

  function apply() {
    var params = new URLSearchParams(location.hash.slice(1));
    fill(params);
    var matching = [];
    error.hidden = true;
    try {
      matching = data.events.filter(compile(params));
    } catch (problem) {
      if (!(problem instanceof FilterError)) throw problem;
      error.textContent = problem.message;
      error.hidden = false;
    }
    var pages = Math.max(1, Math.ceil(matching.length / data.per_page));
    var page = Math.max(1, parseInt(params.get("page"), 10) || 1);
    if (page > pages && error.hidden) {
      error.textContent = "No page " + page + ": there " + (pages === 1 ? "is 1 page" : "are " + pages + " pages")
        + " of " + data.per_page + " events for these filters.";
      error.hidden = false;
    }
    page = Math.min(pages, page);
    var offset = (page - 1) * data.per_page;
    show(matching.slice(offset, offset + data.per_page), matching.length, offset, function (n) {
      params.set("page", n);
      return "#" + params.toString();
    });
  }

  function navigate(hash) {
    if (location.hash.slice(1) === hash) apply();
    else location.hash = hash;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var params = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || (field.type === "checkbox" && !field.checked) || !field.value.trim()) return;
      params.append(field.name, field.value.trim());
    });
    navigate(params.toString());
  });
  form.querySelector(".reset").addEventListener("click", function (event) {
    event.preventDefault();
    navigate("");
  });
  /* Another page or filter starts at the top, as the served page does when it loads. */
  window.addEventListener("hashchange", function () { apply(); window.scrollTo(0, 0); });
  apply();
})();
