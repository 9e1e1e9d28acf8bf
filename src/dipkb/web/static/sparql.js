/* The query editor at /sparql: runs the textarea's query against the same URL (POST, form-encoded,
 * as the SPARQL 1.1 Protocol allows) and draws the results; a saved query's button fills the
 * textarea with its text, example parameters bound, and runs it. Without this script the form
 * still posts the query and the browser shows the server's answer.
 */
(function () {
  "use strict";

  var form = document.getElementById("sparql-form");
  var textarea = document.getElementById("query");
  var status = document.getElementById("sparql-status");
  var results = document.getElementById("results");
  var PREFIXES = JSON.parse(document.getElementById("sparql-prefixes").textContent);
  var PAGE_KINDS = ["event", "actor", "place", "source", "position"];

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* An IRI shortened with the dipkb prefixes, as the CLI prints it; null when none fits. */
  function curie(iri) {
    var names = Object.keys(PREFIXES);
    for (var i = 0; i < names.length; i++) {
      var namespace = PREFIXES[names[i]];
      var local = iri.slice(namespace.length);
      if (iri.indexOf(namespace) === 0 && local && !/[\/#]/.test(local)) return {prefix: names[i], local: local};
    }
    return null;
  }

  /* A term of the results: IRIs as CURIEs, this KB's resources linked to their pages. */
  function term(value) {
    if (!value) return el("span", "unbound", "");
    if (value.type === "uri") {
      var short = curie(value.value);
      var text = short ? short.prefix + ":" + short.local : value.value;
      var node = el(short && PAGE_KINDS.indexOf(short.prefix) >= 0 ? "a" : "span", "iri", text);
      if (node.tagName === "A") node.href = "/" + short.prefix + "/" + encodeURIComponent(short.local);
      node.title = value.value;
      return node;
    }
    if (value.type === "triple") {  /* RDF 1.2's triple term: its three terms, which showed as [object Object] */
      var triple = el("span", "triple", "<< ");
      ["subject", "predicate", "object"].forEach(function (part) {
        triple.appendChild(term(value.value[part]));
        triple.appendChild(document.createTextNode(" "));
      });
      triple.appendChild(document.createTextNode(">>"));
      return triple;
    }
    var literal = el("span", "literal", value.value);
    if (value["xml:lang"]) literal.title = "@" + value["xml:lang"];
    else if (value.datatype) literal.title = value.datatype;
    return literal;
  }

  function table(json) {
    var vars = json.head.vars || [];
    var grid = el("table", "results-table");
    var head = grid.createTHead().insertRow();
    vars.forEach(function (name) { head.appendChild(el("th", null, name)); });
    var body = grid.createTBody();
    json.results.bindings.forEach(function (row) {
      var line = body.insertRow();
      vars.forEach(function (name) { line.insertCell().appendChild(term(row[name])); });
    });
    return grid;
  }

  var running = null;  /* the run whose answer is shown: an earlier, slower one is cancelled */

  /* The page's address becomes a link to the query run (/sparql?query=...), to share or bookmark; not
   * past a length servers refuse in a request line (the address is then the editor's). */
  function shareable(query) {
    var address = "/sparql?query=" + encodeURIComponent(query);
    history.replaceState(null, "", address.length <= 8000 ? address : "/sparql");
  }

  function run() {
    var started = performance.now();
    if (running) running.abort();
    var mine = running = new AbortController();
    shareable(textarea.value);
    status.textContent = "Running…";
    results.textContent = "";
    fetch("/sparql", {
      signal: mine.signal,
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/sparql-results+json, text/turtle;q=0.9, text/plain;q=0.5"
      },
      body: new URLSearchParams({query: textarea.value})
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      var truncated = response.headers.get("X-Dipkb-Truncated");
      var reading = type.indexOf("json") >= 0 && response.ok ? response.json() : response.text();
      return reading.then(function (body) {
        if (mine !== running) return;
        var seconds = ((performance.now() - started) / 1000).toFixed(2);
        if (!response.ok) {
          status.textContent = "Error " + response.status + ".";
          results.appendChild(el("p", "error", typeof body === "string" ? body.trim() : JSON.stringify(body)));
          results.scrollIntoView({block: "nearest"});
          return;
        }
        if (typeof body === "string") {
          status.textContent = "Done in " + seconds + " s.";
          results.appendChild(el("pre", "rdf", body));
        } else if (typeof body.boolean === "boolean") {
          status.textContent = "Done in " + seconds + " s.";
          results.appendChild(el("p", "boolean", body.boolean ? "yes" : "no"));
        } else {
          var rows = body.results.bindings.length;
          status.textContent = rows + (rows === 1 ? " row" : " rows") + " in " + seconds + " s.";
          if (truncated === "true" || body.truncated === true) {
            results.appendChild(el("p", "note", "The result was cut at " + rows + " rows (the server's limit)."));
          }
          results.appendChild(table(body));
        }
        results.scrollIntoView({block: "nearest"});  /* below the saved queries on a small screen */
      });
    }).catch(function (problem) {
      if (mine !== running) return;  /* cancelled by a later run */
      status.textContent = "The server did not answer: " + problem.message;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });
  Array.prototype.forEach.call(document.querySelectorAll(".saved-query"), function (button) {
    button.addEventListener("click", function () {
      textarea.value = button.getAttribute("data-query");
      var needs = button.getAttribute("data-needs");
      if (!needs) return run();
      results.textContent = "";
      status.textContent = "This query needs " + needs + ": bind its variables (a VALUES block) in the editor, then Run.";
      textarea.focus();
      textarea.scrollIntoView({block: "nearest"});
    });
  });
  if (form.hasAttribute("data-run")) run();  /* a shared link: /sparql?query=... */
})();
