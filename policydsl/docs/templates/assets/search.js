/* Offline search over the handbook: the index is a script beside the pages (search-index.js), so it
   loads from file:// without any network request. Chinese has no spaces, so terms match as substrings. */
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
  var LIMIT = 40;

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
      var ok = true;
      for (var j = 0; j < terms.length; j++) {
        if (haystack[i].indexOf(terms[j]) < 0) { ok = false; break; }
      }
      if (ok) { found.push(rows[i]); }
    }
    status.textContent = found.length ? form.getAttribute("data-count").replace("{count}", String(found.length))
                                      : form.getAttribute("data-none");
    for (var k = 0; k < found.length && k < LIMIT; k++) { list.appendChild(item(found[k], terms[0])); }
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
