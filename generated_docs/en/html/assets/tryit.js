/* The "try it" panel of a policy page. It shows itself only when the page is served over http(s) and the same
   origin's /v1/status answers (`policydsl serve --docs`): opened from disk it stays hidden and fetches nothing.
   It reads the form the handbook rendered (every label and choice is already in the page's language), nests the
   facts by their dotted paths, POSTs {"facts", "at"} to /v1/policies/{id}/decide, and lays out the decision
   JSON or the error JSON, worded as `policydsl eval --lang` words it: with the labels, kinds and units, and the
   command line's own catalogue templates, that the handbook put in data-tryit (docs/tryit.py). What the service
   answers is inserted as text (textContent), never as HTML. The service is found relative to this script, which
   `serve --docs` serves at <service>/docs/<lang>/html/assets/tryit.js: behind a proxy that mounts the service
   under a path prefix (/rules/), the panel asks /rules/v1/… as the page itself came from /rules/docs/…. */
(function () {
  "use strict";
  var panel = document.getElementById("try");
  if (!panel || !/^https?:$/.test(location.protocol) || !window.fetch) { return; }
  var service = new URL("../../../../", document.currentScript.src).pathname;
  var conf = JSON.parse(panel.getAttribute("data-tryit"));
  var words = conf.strings, cli = conf.formats;
  var form = document.getElementById("tryit-form");
  var result = document.getElementById("tryit-result");
  var submit = document.getElementById("try-submit");
  var tokenField = document.getElementById("try-token-field");
  var tokenBox = document.getElementById("try-token");

  /* Python's str.format for the fields the catalogue uses: `{name}`, and `{name:,}` (an integer grouped by
     thousands with commas, as Python writes it). */
  function format(template, args) {
    return template.replace(/\{(\w+)(:,)?\}/g, function (whole, key, grouped) {
      if (!(key in args)) { return whole; }
      var text = String(args[key]);
      return grouped ? text.replace(/^(-?)(\d+)$/, function (all, sign, digits) {
        return sign + digits.replace(/\B(?=(\d{3})+$)/g, ",");
      }) : text;
    });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function named(path) {  /* a fact's or value's label in the page's language (its id if the page has none) */
    return conf.values[path] ? conf.values[path].label : path;
  }

  function label(path) {  /* its label, then its id */
    return conf.values[path] ? named(path) + " (" + path + ")" : path;
  }

  function money(value) {  /* the decision JSON's "2500" or "12.50" as eval shows it: "¥2500" / "¥2,500" */
    var dot = value.indexOf(".");
    return format(cli["value.money"], dot < 0 ? { whole: value, frac: "" } : { whole: value.slice(0, dot), frac: value.slice(dot) });
  }

  /* A value of the decision JSON as eval shows it (runtime/values.py display): an enum by its label, yes/no, money,
     a count or number with its unit; a percent, a date or a text as the JSON carries it. */
  function show(path, value) {
    var about = conf.values[path] || { kind: "" }, labels = conf.enums[about.enum] || {};
    var unit = function (text) { return about.unit ? text + " " + about.unit : text; };
    if (value === "not_open" && !(value in labels)) { return cli.not_open; }
    switch (about.kind) {
      case "count": return unit(format(cli["value.count"], { n: value }));
      case "number": return unit(value);
      case "money": return money(value);
      case "bool": return value ? cli["true"] : cli["false"];
      case "enum": return labels[value];
      case "set": return value.length ? value.map(function (id) { return labels[id]; }).join(cli["list.sep"]) : cli["value.none"];
      case "duration": return format(cli["duration." + value.split(" ")[1]], { n: value.split(" ")[0] });
      default: return typeof value === "string" ? value : JSON.stringify(value);
    }
  }

  function put(facts, path, value) {
    var parts = path.split("."), node = facts;
    for (var i = 0; i < parts.length - 1; i++) {
      if (typeof node[parts[i]] !== "object" || node[parts[i]] === null) { node[parts[i]] = {}; }
      node = node[parts[i]];
    }
    node[parts[parts.length - 1]] = value;
  }

  /* One field's fact, or undefined when left blank (not stated). Numbers travel as their exact text (the
     service reads "86000", "4.8" and "97%" exactly), a count as a JSON integer. */
  function valueOf(field) {
    var kind = field.getAttribute("data-kind");
    if (kind === "set") {
      var boxes = field.querySelectorAll("input:checked"), ids = [];
      for (var i = 0; i < boxes.length; i++) { ids.push(boxes[i].value); }
      return ids.length ? ids : undefined;
    }
    var raw = field.querySelector("input, select").value.trim();
    if (raw === "") { return undefined; }
    if (kind === "bool") { return raw === "true"; }
    if (kind === "count" && /^\d+$/.test(raw) && Number.isSafeInteger(Number(raw))) { return Number(raw); }
    if (kind === "percent" && !/%$/.test(raw)) { return raw + "%"; }
    return raw;
  }

  function request() {
    var facts = {}, fields = form.querySelectorAll("[data-path]");
    for (var i = 0; i < fields.length; i++) {
      var value = valueOf(fields[i]);
      if (value !== undefined) { put(facts, fields[i].getAttribute("data-path"), value); }
    }
    var body = { facts: facts };
    var at = document.getElementById("try-at").value;
    if (at) { body.at = at; }
    var headers = { "Content-Type": "application/json" };
    if (tokenBox.value.trim()) { headers.Authorization = "Bearer " + tokenBox.value.trim(); }
    return fetch(service + "v1/policies/" + encodeURIComponent(conf.policy) + "/decide",
                 { method: "POST", headers: headers, body: JSON.stringify(body), cache: "no-store" });
  }

  function section(title, cls, items, item) {
    if (!items || !items.length) { return; }
    result.appendChild(el("h3", "", title));
    var list = el("ul", cls);
    for (var i = 0; i < items.length; i++) { list.appendChild(item(items[i])); }
    result.appendChild(list);
  }

  function coded(line, code) {  /* a line as eval words it, then the rule's code or the value's path */
    var li = el("li");
    li.appendChild(line);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("code", "", code));
    return li;
  }

  function reason(r) {
    return coded(el("span", "message", r.message[conf.lang]), r.code);
  }

  function consequence(c) {  /* runtime/explain.py consequence_line, its code shown after the line */
    var parts = [conf.consequences[c.kind] || c.kind];
    if (c.until) { parts.push(format(cli["consequence.until"], { date: c.until })); }
    if (c.permanent) { parts.push(cli["consequence.permanent"]); }
    if (c.amount != null) { parts.push(format(cli["consequence.amount"], { amount: money(c.amount) })); }
    return coded(el("span", "line", parts.join(cli["explain.list_sep"]) + cli["explain.colon"] + c.message[conf.lang]), c.code);
  }

  function value(path, shown) {  /* `label = value`, as eval prints it */
    var line = el("span", "line");
    line.appendChild(el("span", "name", named(path)));
    line.appendChild(document.createTextNode(" = "));
    line.appendChild(el("span", "value", shown));
    return coded(line, path);
  }

  function unresolved(path, facts) {  /* runtime/explain.py unresolved_lines */
    var needs = facts.map(function (p) { return format(cli["unresolved.fact"], { label: named(p), path: p }); });
    return coded(el("span", "line", format(cli["unresolved.line"], { label: named(path), facts: needs.join(cli["unresolved.sep"]) })), path);
  }

  function decision(d) {
    var head = el("p", "outcome");
    head.appendChild(el("span", "", words.outcome + " "));
    head.appendChild(el("span", "badge " + (conf.outcomes[d.outcome] ? d.outcome : ""), conf.outcomes[d.outcome] || d.outcome));
    head.appendChild(el("span", "at", " " + words.at + " " + d.at));
    result.appendChild(head);
    section(words.reasons, "reasons", d.reasons, reason);
    section(words.warnings, "warnings", d.warnings, reason);
    section(words.consequences, "consequences", d.consequences, consequence);
    var values = d.values || {}, missing = d.unresolved || {};
    section(words.values, "values", Object.keys(values), function (path) { return value(path, show(path, values[path])); });
    section(words.unresolved, "unresolved", Object.keys(missing), function (path) { return unresolved(path, missing[path]); });
  }

  function failure(status, answer) {
    var error = answer && answer.error;
    var p = el("p", "error", format(words.error, { status: status }));
    p.appendChild(el("span", "message", error && error.message ? error.message[conf.lang] : ""));
    result.appendChild(p);
    if (error && error.facts && error.facts.length) {
      result.appendChild(el("p", "error-facts", words.facts + error.facts.map(label).join(", ")));
    }
    if (status === 401) {
      tokenField.hidden = false;
      result.appendChild(el("p", "error-hint", words.token_needed));
      tokenBox.focus();
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit.disabled = true;
    result.textContent = words.busy;
    request().then(function (response) {
      return response.text().then(function (body) {
        var answer = null;
        try { answer = JSON.parse(body); } catch (e) { answer = null; }
        result.textContent = "";
        if (response.status === 200 && answer) { decision(answer); } else { failure(response.status, answer); }
      });
    }).catch(function (err) {
      result.textContent = "";
      result.appendChild(el("p", "error", format(words.unreachable, { reason: err.message })));
    }).then(function () { submit.disabled = false; });
  });

  fetch(service + "v1/status", { cache: "no-store" }).then(function (response) {
    return response.ok ? response.json() : null;
  }).then(function (status) {
    if (!status || !status.revision) { return; }
    panel.hidden = false;
    var toc = document.querySelector("nav.toc ol");
    if (toc) {
      var li = el("li"), a = el("a", "", panel.querySelector("h2").firstChild.textContent.trim());
      a.href = "#try";
      li.appendChild(a);
      toc.appendChild(li);
    }
  }).catch(function () { /* no service on this origin: the panel stays hidden */ });
})();
