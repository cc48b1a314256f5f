/* The "try it" panel of a policy page. It shows itself only when the page is served over http(s) and the same
   origin's /v1/status answers (`policydsl serve --docs`): opened from disk it stays hidden and fetches nothing.
   It reads the form the handbook rendered (every label and choice is already in the page's language), nests the
   facts by their dotted paths, POSTs {"facts", "at"} to /v1/policies/{id}/decide, and lays out the decision
   JSON or the error JSON. What the service answers is inserted as text (textContent), never as HTML. */
(function () {
  "use strict";
  var panel = document.getElementById("try");
  if (!panel || !/^https?:$/.test(location.protocol) || !window.fetch) { return; }
  var conf = JSON.parse(panel.getAttribute("data-tryit"));
  var words = conf.strings;
  var form = document.getElementById("tryit-form");
  var result = document.getElementById("tryit-result");
  var submit = document.getElementById("try-submit");
  var tokenField = document.getElementById("try-token-field");
  var tokenBox = document.getElementById("try-token");

  function format(template, args) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) { return key in args ? String(args[key]) : whole; });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function label(path) {  /* a fact's or value's label in the page's language, then its id */
    return conf.labels[path] ? conf.labels[path] + " (" + path + ")" : path;
  }

  function text(value) {  /* a value as the decision JSON carries it: money "¥12.50", a percent "97%", a date */
    return typeof value === "string" ? value : JSON.stringify(value);
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
    return fetch("/v1/policies/" + encodeURIComponent(conf.policy) + "/decide",
                 { method: "POST", headers: headers, body: JSON.stringify(body), cache: "no-store" });
  }

  function section(title, cls, items, item) {
    if (!items || !items.length) { return; }
    result.appendChild(el("h3", "", title));
    var list = el("ul", cls);
    for (var i = 0; i < items.length; i++) { list.appendChild(item(items[i])); }
    result.appendChild(list);
  }

  function reason(r) {
    var li = el("li");
    li.appendChild(el("span", "message", r.message[conf.lang]));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("code", "", r.code));
    return li;
  }

  function consequence(c) {
    var detail = [];
    if (c.until) { detail.push(format(words.until, { date: c.until })); }
    if (c.permanent) { detail.push(words.permanent); }
    if (c.amount) { detail.push(format(words.amount, { amount: c.amount })); }
    var li = el("li");
    var aside = detail.length ? words["consequence.open"] + detail.join(words["x.list_sep"]) + words["consequence.close"] : "";
    li.appendChild(el("span", "kind", (conf.consequences[c.kind] || c.kind) + aside));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "message", c.message[conf.lang]));
    return li;
  }

  function pairs(title, cls, map, show) {
    var keys = Object.keys(map || {});
    section(title, cls, keys, function (key) {
      var li = el("li");
      li.appendChild(el("span", "name", label(key)));
      li.appendChild(document.createTextNode(" = "));
      li.appendChild(el("span", "value", show(map[key])));
      return li;
    });
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
    pairs(words.values, "values", d.values, text);
    pairs(words.unresolved, "unresolved", d.unresolved, function (facts) { return facts.map(label).join(", "); });
  }

  function failure(status, answer) {
    var error = answer && answer.error;
    var p = el("p", "error", format(words.error, { status: status }) + (error && error.message ? error.message[conf.lang] : ""));
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

  fetch("/v1/status", { cache: "no-store" }).then(function (response) {
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
