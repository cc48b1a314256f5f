/* Draws today's date on every timeline picture when it is viewed, so the files stay deterministic. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  function today() {
    try {
      return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit",
                                                day: "2-digit" }).format(new Date());
    } catch (e) { return new Date().toISOString().slice(0, 10); }
  }
  function day(iso) { return Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 864e5; }
  function draw(svg) {
    var g = svg.querySelector("g.today");
    if (!g || g.firstChild) { return; }
    var iso = today();
    var lo = day(svg.getAttribute("data-min")), hi = day(svg.getAttribute("data-max"));
    var x0 = +svg.getAttribute("data-x0"), x1 = +svg.getAttribute("data-x1");
    var top = +svg.getAttribute("data-top"), bottom = +svg.getAttribute("height") - 4;
    var now = day(iso), label = svg.getAttribute("data-today") + " " + iso;
    var x = x0 + (x1 - x0) * (now - lo) / (hi - lo);
    var anchor = "middle";
    if (now > hi) { x = x1; label += " →"; anchor = "end"; }
    if (now < lo) { x = x0; label = "← " + label; anchor = "start"; }
    var line = document.createElementNS(NS, "line");
    line.setAttribute("x1", x); line.setAttribute("x2", x);
    line.setAttribute("y1", top); line.setAttribute("y2", bottom);
    line.setAttribute("class", "today-line");
    var text = document.createElementNS(NS, "text");
    text.setAttribute("x", x); text.setAttribute("y", top - 2);
    text.setAttribute("text-anchor", anchor);
    text.setAttribute("class", "today-label");
    text.textContent = label;
    g.appendChild(line); g.appendChild(text);
  }
  var all = document.querySelectorAll("svg.timeline-svg");
  for (var i = 0; i < all.length; i++) { draw(all[i]); }
})();
