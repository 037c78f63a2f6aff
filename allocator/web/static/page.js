/* allocator serve: after htmx shows progress, an answer or a message in the answer region, bring
   it into view and give it the keyboard focus (on a desktop the region is beside a long form, often
   scrolled out of view; on a phone it is below the form).  Only when the request came from the
   form's buttons or from inside the region (Cancel, a progress poll that had the focus): a poll
   never pulls someone away from the field they are typing in.  A field that htmx focused with
   autofocus (an invalid value) keeps the focus.  Smooth scrolling only without prefers-reduced-motion.
   A figure's button, once replaced by its progress and then its figure, hands the focus on to them.
   Without JavaScript none of this runs, and the pages are whole pages. */
(function () {
  "use strict";
  var pending = false;
  var figure = null;  // a figure region (#figure-budget, #figure-frontier) that had the focus when it was swapped

  function region() { return document.getElementById("answer-body"); }

  document.addEventListener("htmx:beforeSwap", function (e) {
    var r = region(), target = e.detail.target;
    if (target && target.id && target.id.indexOf("figure-") === 0 && target.contains(document.activeElement)) {
      figure = target;  // its button or progress had the focus: keep it in the region through to the figure
    }
    if (!target || !r) { return; }
    // the form's buttons swap the whole #page; Cancel and the progress polls swap #answer-body
    // (a sort or a figure swaps only its own part, and htmx keeps the focus there itself)
    pending = pending || target.id === "page" || (target === r && r.contains(document.activeElement));
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (figure) {
      var f = figure, mark = figure.querySelector("[data-focus]");
      figure = null;
      if (mark && !f.contains(document.activeElement)) { mark.focus({ preventScroll: true }); }
    }
    if (!pending) { return; }
    pending = false;
    var r = region(), active = document.activeElement;
    if (!r) { return; }
    if (active && active !== document.body && (active.hasAttribute("autofocus") || r.contains(active))) {
      return;  // htmx focused an invalid field or an error (autofocus), or kept the focus where it was
    }
    var target = r.hasAttribute("data-focus") ? r : r.querySelector("[data-focus]");
    if (!target) { return; }
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    target.focus({ preventScroll: true });
    target.scrollIntoView({ block: "start", behavior: still ? "auto" : "smooth" });
  });
})();
