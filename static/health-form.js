// The short health form (templates/booking/_questions.html): hides the checklist until
// "Some apply" is chosen, and moves focus to an error summary. Without this script both parts
// show and the form works the same; the server decides every answer.
(function () {
  "use strict";
  document.querySelectorAll("[data-health-form]").forEach(function (form) {
    var list = form.querySelector("[data-checklist]");
    var some = form.querySelector("input[name=applies][value=some]");
    var none = form.querySelector("input[name=applies][value=none]");
    if (!list || !some || !none) { return; }
    var boxes = list.querySelectorAll("input[type=checkbox]");
    var summaries = form.querySelectorAll("[data-summary]");
    function sync() {
      // Keep the list in view while it holds ticks or an error, so nothing is hidden that counts.
      var keep = some.checked || list.classList.contains("has-error") ||
        (!none.checked && list.querySelector("input:checked"));
      list.hidden = !keep;
      // The checklist names every item itself: the short summary above it is then not needed.
      summaries.forEach(function (p) { p.hidden = !!keep; });
      // "None apply": the hidden ticks are not sent (and come back if "Some apply" is chosen).
      boxes.forEach(function (b) { b.disabled = none.checked && !list.classList.contains("has-error"); });
    }
    some.addEventListener("change", sync);
    none.addEventListener("change", function () { list.classList.remove("has-error"); sync(); });
    sync();
  });
  var summary = document.querySelector(".error-summary[tabindex]");
  if (summary && document.activeElement !== summary) { summary.focus(); }
})();
