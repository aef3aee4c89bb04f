// Logging out forgets the unsaved typing this browser kept for the user (draft.js): on a
// shared computer, the next person must not find it. The server's answer also asks the
// browser to clear the site's storage (Clear-Site-Data); this covers browsers that ignore it.
(function () {
  "use strict";
  var DRAFT_PREFIX = "mla-draft:";
  function forgetDrafts() {
    if (!window.localStorage) { return; }
    var keys = [];
    for (var index = 0; index < localStorage.length; index += 1) {
      var key = localStorage.key(index);
      if (key && key.indexOf(DRAFT_PREFIX) === 0) { keys.push(key); }
    }
    keys.forEach(function (key) { localStorage.removeItem(key); });
  }
  document.querySelectorAll("form[data-logout]").forEach(function (form) {
    form.addEventListener("submit", forgetDrafts);
  });
})();
