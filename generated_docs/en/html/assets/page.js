/* What the page does for its reader once loaded (the files stay deterministic; without scripts the page
   is whole, only without these): boxes that scroll sideways say so, the table of contents folds away on a
   narrow screen, every section heading with an anchor gets a permalink, and dates never break at their hyphens. */
(function () {
  "use strict";
  var body = document.body;

  function markOverflow() {
    var boxes = document.querySelectorAll(".scroll, .timeline, .rollout-chart, pre.source");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var wide = box.scrollWidth > box.clientWidth + 1;
      box.classList.toggle("overflows", wide);
      if (wide) { box.setAttribute("data-hint", body.getAttribute("data-scroll-hint") || ""); }
    }
  }

  var narrow = window.matchMedia ? window.matchMedia("(max-width: 52rem)") : { matches: false };
  function foldToc() {
    var tocs = document.querySelectorAll("nav.toc");
    for (var i = 0; i < tocs.length; i++) {
      (function (toc) {
        var head = toc.querySelector("h2");
        if (!head) { return; }
        head.className = "toggle";
        head.setAttribute("role", "button");
        head.setAttribute("tabindex", "0");
        function set(folded) {
          toc.classList.toggle("collapsed", folded);
          head.setAttribute("aria-expanded", folded ? "false" : "true");
        }
        set(narrow.matches);
        head.addEventListener("click", function () { set(!toc.classList.contains("collapsed")); });
        head.addEventListener("keydown", function (event) {
          if (event.key === "Enter" || event.key === " ") { event.preventDefault(); head.click(); }
        });
        toc.addEventListener("click", function (event) {
          if (narrow.matches && event.target.closest("a")) { set(true); }
        });
      })(tocs[i]);
    }
  }

  function permalinks() {
    var heads = document.querySelectorAll("main h2, main h3");
    for (var i = 0; i < heads.length; i++) {
      var h = heads[i];
      var parent = h.parentElement;
      var id = h.id || (parent && parent.id && parent.firstElementChild === h ? parent.id : "");
      if (!id || h.querySelector(".headerlink")) { continue; }
      var a = document.createElement("a");
      a.className = "headerlink";
      a.href = "#" + id;
      a.textContent = "¶";
      a.setAttribute("aria-label", body.getAttribute("data-permalink") || "#");
      a.title = a.getAttribute("aria-label");
      h.appendChild(a);
    }
  }

  function keepDates() {  /* a date never breaks at its hyphens: 2020-04-07 stays on one line */
    var walker = document.createTreeWalker(document.querySelector("main") || body, NodeFilter.SHOW_TEXT);
    var found = [];
    while (walker.nextNode()) {
      var node = walker.currentNode;
      if (/\d{4}-\d{2}-\d{2}/.test(node.data) && !node.parentElement.closest("svg, script, pre, .nowrap")) {
        found.push(node);
      }
    }
    for (var i = 0; i < found.length; i++) {
      var parts = found[i].data.split(/(\d{4}-\d{2}-\d{2})/);
      var frag = document.createDocumentFragment();
      for (var j = 0; j < parts.length; j++) {
        if (j % 2) {
          var span = document.createElement("span");
          span.className = "nowrap";
          span.textContent = parts[j];
          frag.appendChild(span);
        } else if (parts[j]) {
          frag.appendChild(document.createTextNode(parts[j]));
        }
      }
      found[i].parentNode.replaceChild(frag, found[i]);
    }
  }

  keepDates();
  foldToc();
  permalinks();
  markOverflow();
  window.addEventListener("resize", markOverflow);
})();
