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

/* An uploaded file over the size limit (data-max-bytes on its input) is refused before it is
   sent: the server would answer 413 to the whole request, and the page would lose what was
   typed.  The form is novalidate (the server shows every field's error at once), so the request
   itself is stopped here, htmx's or the browser's.  Without JavaScript the server still answers. */
(function () {
  "use strict";
  function oversized(input) {
    var max = Number(input.dataset.maxBytes), file = input.files && input.files[0];
    return file && file.size > max ? file.name + " is " + (file.size / 1e6).toFixed(1) + " MB, over the " +
      (max / 1e6).toFixed(0) + " MB limit: choose a smaller catalog (one row per program)" : "";
  }
  function mark(input) {
    input.setCustomValidity(oversized(input));
    if (input.validationMessage) { input.reportValidity(); }
  }
  function stop(e, form) {
    var inputs = form ? form.querySelectorAll("input[type=file][data-max-bytes]") : [];
    for (var k = 0; k < inputs.length; k++) {
      if (oversized(inputs[k])) { e.preventDefault(); inputs[k].focus(); mark(inputs[k]); return; }
    }
  }
  document.addEventListener("change", function (e) {
    if (e.target && e.target.type === "file" && e.target.dataset.maxBytes) { mark(e.target); }
  });
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail.elt;
    stop(e, elt && (elt.form || (elt.tagName === "FORM" ? elt : elt.closest("form"))));
  });
  document.addEventListener("submit", function (e) { stop(e, e.target); }, true);
})();

/* Back from an answer to the form.  htmx pushes the answer's address (/jobs/ID) over the form's
   ("/" or "/?preset=..."), and keeps no copy of the page (historyCacheSize 0: nothing typed is
   kept in the browser's storage), so Back asked the server for "/" again: the example's values,
   not what was typed.  Before the push, the form's place in the history is renamed /?form=ID:
   the form with the values submitted for that answer (kept in the server's memory with it), so
   Back, and a reload there, show them.  Without JavaScript the browser itself restores the typed
   values when going back (the fields allow it: no autocomplete="off"). */
(function () {
  "use strict";
  document.addEventListener("htmx:beforeHistoryUpdate", function (e) {
    var h = e.detail.history, m = h && h.type === "push" && /^\/jobs\/([\w-]+)$/.exec(h.path || "");
    if (m && window.location.pathname === "/") {
      window.history.replaceState(window.history.state, "", "/?form=" + encodeURIComponent(m[1]));
    }
  });
})();

/* Enter in a field sends the form with the button of that field's own section: "Update my
   chances" in the season section, "Find my list" elsewhere.  (A browser sends a form by Enter
   with its first submit button, the form's hidden default; without JavaScript the server then
   tells the sections apart by what was filled in, see pages.enter_form.) */
(function () {
  "use strict";
  var skip = /^(file|submit|button|reset|image|hidden)$/;  // Enter on these does what they do themselves
  document.addEventListener("keydown", function (e) {
    var t = e.target, form = t && t.form;
    if (e.key !== "Enter" || e.defaultPrevented || e.isComposing || !form || form.id !== "profile-form" ||
        t.tagName !== "INPUT" || skip.test(t.type)) { return; }
    e.preventDefault();
    var button = document.getElementById(t.closest("#season-section") ? "update-submit" : "submit");
    if (button && !button.disabled) { button.click(); }
  });
})();

/* The one live region (#live-status, outside the swapped parts): a short status line, so that a
   screen reader hears "Solving…", "Solving…, 10 s so far", "Your list is ready", and not every
   progress poll nor the whole answer.  Each part of the page that htmx swaps (the answer, each
   figure) names its state in a data-status (data-figure-status) attribute; the line is set only
   when a part's state changes, which is at most every 10 s while a request runs.  The state
   shown when the page loads is not announced (the page lands on it by its autofocus).  Busy
   and error notices are alerts that speak for themselves: they clear the part's state silently. */
(function () {
  "use strict";
  var last = {};
  var parts = { answer: ["answer-body", "[data-status]", "data-status"],
                budget: ["figure-budget", "[data-figure-status]", "data-figure-status"],
                frontier: ["figure-frontier", "[data-figure-status]", "data-figure-status"] };

  function state(name) {
    var p = parts[name], root = document.getElementById(p[0]);
    var el = root && (root.matches(p[1]) ? root : root.querySelector(p[1]));
    return el ? el.getAttribute(p[2]) || "" : "";
  }

  function read(announce) {
    var live = document.getElementById("live-status");
    Object.keys(parts).forEach(function (name) {
      var text = state(name);
      if (announce && live && text && text !== last[name]) { live.textContent = text; }
      last[name] = text;
    });
  }

  document.addEventListener("DOMContentLoaded", function () { read(false); });
  document.addEventListener("htmx:afterSettle", function () { read(true); });
})();

/* A progress poll that fails on the network (htmx:sendError) or gets no answer within its
   20 s (hx-request timeout, htmx:timeout) is sent again a second later: each poll replaces
   itself ("load delay"), so one lost request would leave the page on "Solving…" for good.
   Any answer the server gives, errors and "busy" included, is swapped in as usual. */
(function () {
  "use strict";
  function again(e) {
    var el = e.detail && e.detail.elt, path = el && el.getAttribute && el.getAttribute("hx-get");
    if (!path || path.indexOf("/jobs/") !== 0) { return; }
    setTimeout(function () {
      if (!el.isConnected) { return; }
      htmx.ajax("GET", path, { source: el, target: el.getAttribute("hx-target"),
                               swap: el.getAttribute("hx-swap") });
    }, 1000);
  }
  document.addEventListener("htmx:sendError", again);
  document.addEventListener("htmx:timeout", again);
})();
