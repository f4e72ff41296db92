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
    if (problems.length) {
      var banner = document.getElementById("page-problems");
      banner.textContent = "Parts of this page did not load in this browser: " +
                           problems.join("; ");
      banner.hidden = false;
    }
  }
  if (document.readyState === "complete") {
    finish();
  } else {
    window.addEventListener("load", finish);
  }
})();
