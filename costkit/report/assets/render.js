// Draws every chart from its JSON block, then marks the page with how it went:
// body[data-charts], body[data-charts-drawn], body[data-problems], and a visible banner
// listing any problem recorded by status.js.
(function () {
  "use strict";
  var config = {
    displaylogo: false,
    responsive: true,
    typesetMath: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
    toImageButtonOptions: { format: "png", scale: 2 }
  };
  var problems = window.costkitProblems || [];
  var charts = document.querySelectorAll("[data-figure]");
  var drawn = 0;
  Array.prototype.forEach.call(charts, function (element) {
    try {
      if (typeof Plotly === "undefined") {
        throw new Error("the charting library did not load");
      }
      var block = document.getElementById(element.getAttribute("data-figure"));
      var figure = JSON.parse(block.textContent);
      var points = 0;
      figure.data.forEach(function (trace) {
        points += (trace.x || trace.values || []).length;
      });
      element.setAttribute("data-points", String(points));
      Plotly.newPlot(element, figure.data, figure.layout, config);
      drawn += 1;
    } catch (err) {
      element.textContent = "This chart could not be drawn: " + err.message;
      element.className += " chart-failed";
      problems.push("chart " + element.id + ": " + err.message);
    }
  });
  function finish() {
    var body = document.body;
    body.setAttribute("data-charts", String(charts.length));
    body.setAttribute("data-charts-drawn", String(drawn));
    body.setAttribute("data-problems", String(problems.length));
    // How far the page is wider than the window (0: no sideways scrolling), for the checks.
    var root = document.documentElement;
    body.setAttribute("data-overflow-x", String(Math.max(0, root.scrollWidth - root.clientWidth)));
    if (problems.length) {
      var banner = document.getElementById("page-problems");
      banner.textContent = "Parts of this page did not load in this browser: " +
                           problems.join("; ");
      banner.hidden = false;
    }
  }
  // Copy buttons: the full request id to the clipboard (offline; the older execCommand
  // path where the page's file:// origin has no clipboard API).
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.copy") : null;
    if (!button) {
      return;
    }
    var text = button.getAttribute("data-copy");
    function done(ok) {
      button.textContent = ok ? "copied" : "not copied";
      if (!ok) {
        window.prompt("Copy the request id:", text);
      }
    }
    function fallback() {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
      document.body.removeChild(area);
      done(ok);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  });
  if (document.readyState === "complete") {
    finish();
  } else {
    window.addEventListener("load", finish);
  }
})();
