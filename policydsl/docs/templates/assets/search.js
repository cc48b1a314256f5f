/* Offline search over the handbook: the index is a script beside the pages (search-index.js), so it
   loads from file:// without any network request. Chinese has no spaces, so terms match as substrings.
   Results are ranked: a match in an entry's own name (a policy's title, a rule's name: the part before
   " — ") before one in the page it sits on, before one in the text; policy pages before declarations
   (rules, values, tables, facts…) before examples and notes; an exact name before one that starts with
   the query, before one that contains it, and the name the query covers most first; then index order. */
(function () {
  "use strict";
  var form = document.getElementById("search");
  var box = document.getElementById("search-box");
  var panel = document.getElementById("search-panel");
  var list = document.getElementById("search-results");
  var status = document.getElementById("search-status");
  if (!form || !box || !panel || !list || !status) { return; }
  var root = document.body.getAttribute("data-root") || "";
  var rows = window.POLICYDSL_SEARCH || [];
  var haystack = rows.map(function (row) { return (row[2] + " " + row[3]).toLowerCase(); });
  var titles = rows.map(function (row) { return row[2].toLowerCase(); });
  var names = titles.map(function (title) { return title.split(" — ")[0]; });
  var LIMIT = 40;
  var DETAIL = /#(example|assumption|note)-|^steps\.html|#facts$/;

  function kindRank(url) {
    if (/^policies\/[^#]+$/.test(url)) { return 2; }
    return DETAIL.test(url) ? 0 : 1;
  }

  function all(text, terms) {
    for (var j = 0; j < terms.length; j++) { if (text.indexOf(terms[j]) < 0) { return false; } }
    return true;
  }

  function score(i, query, terms) {
    var name = names[i];
    var where = all(name, terms) ? 3 : all(titles[i], terms) ? 2 : 1;
    var exact = name === query ? 2 : name.indexOf(query) === 0 ? 1 : 0;
    return [where, kindRank(rows[i][0]), exact, where === 3 ? query.length / Math.max(name.length, 1) : 0, -i];
  }

  function better(a, b) {
    for (var k = 0; k < a.key.length; k++) {
      if (a.key[k] !== b.key[k]) { return b.key[k] - a.key[k]; }
    }
    return 0;
  }

  function snippet(text, term) {
    var at = text.toLowerCase().indexOf(term);
    if (at < 0) { return { before: text.slice(0, 90), hit: "", after: "" }; }
    var start = Math.max(0, at - 30);
    return { before: (start > 0 ? "…" : "") + text.slice(start, at), hit: text.slice(at, at + term.length),
             after: text.slice(at + term.length, at + term.length + 60) + "…" };
  }

  function item(row, term) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = root + row[0];
    var kind = document.createElement("span");
    kind.className = "hit-kind";
    kind.textContent = row[1];
    var title = document.createElement("span");
    title.className = "hit-title";
    title.textContent = row[2];
    var text = document.createElement("span");
    text.className = "hit-text";
    var cut = snippet(row[3], term);
    var mark = document.createElement("mark");
    mark.textContent = cut.hit;
    text.appendChild(document.createTextNode(cut.before));
    text.appendChild(mark);
    text.appendChild(document.createTextNode(cut.after));
    a.appendChild(kind);
    a.appendChild(title);
    a.appendChild(text);
    li.appendChild(a);
    return li;
  }

  function run() {
    var query = box.value.trim().toLowerCase();
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (!query) { panel.hidden = true; return; }
    var terms = query.split(/\s+/);
    var found = [];
    for (var i = 0; i < rows.length; i++) {
      if (all(haystack[i], terms)) { found.push({ row: rows[i], key: score(i, query, terms) }); }
    }
    found.sort(better);
    status.textContent = found.length ? form.getAttribute("data-count").replace("{count}", String(found.length))
                                      : form.getAttribute("data-none");
    for (var k = 0; k < found.length && k < LIMIT; k++) { list.appendChild(item(found[k].row, terms[0])); }
    panel.hidden = false;
  }

  box.addEventListener("input", run);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var first = list.querySelector("a");
    if (first) { window.location.href = first.href; }
  });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { box.value = ""; run(); }
  });
  document.addEventListener("click", function (event) {
    if (!form.contains(event.target)) { panel.hidden = true; }
  });
})();
