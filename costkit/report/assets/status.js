// Runs first: records anything that goes wrong while the page loads, so a chart that fails
// says so on the page instead of leaving a silent blank (see render.js, which shows them).
(function () {
  "use strict";
  var problems = [];
  window.costkitProblems = problems;
  window.addEventListener("error", function (event) {
    var target = event.target;
    if (target && target !== window && target.tagName) {
      problems.push("could not load " + target.tagName.toLowerCase() + " " +
                    (target.src || target.href || ""));
    } else {
      problems.push("script error: " + event.message);
    }
  }, true);
  window.addEventListener("unhandledrejection", function (event) {
    problems.push("script error: " + String(event.reason));
  });
  document.addEventListener("securitypolicyviolation", function (event) {
    problems.push("blocked by the page's security policy: " + event.violatedDirective +
                  " " + event.blockedURI);
  });
  var consoleError = console.error;
  console.error = function () {
    problems.push("error: " + Array.prototype.join.call(arguments, " "));
    return consoleError.apply(console, arguments);
  };
})();
