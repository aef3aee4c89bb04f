// A link to one of a request's steps (#step-<name>, as notifications give) opens the
// disclosure the step's form waits in, and brings it into view.
(function () {
  "use strict";
  function reveal() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    if (!id) { return; }
    var target = document.getElementById(id);
    var details = target && target.closest("details");
    if (!details) { return; }
    details.open = true;
    target.scrollIntoView({ block: "center" });
  }
  reveal();
  window.addEventListener("hashchange", reveal);
})();
