// The new API token's "Copy" button: shown only where a script runs (without it the token is
// still there to select and copy by hand), and loaded from a file, as the Content Security
// Policy allows no inline script.
(function () {
  "use strict";
  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.dataset.copy);
    var status = document.querySelector('[data-copy-status="' + button.dataset.copy + '"]');
    if (!target) { return; }
    function say(text) { if (status) { status.textContent = text; } }
    button.hidden = false;
    button.addEventListener("click", function () {
      selectText(target);
      if (!navigator.clipboard || !navigator.clipboard.writeText) {
        say(button.dataset.copyFailed);
        return;
      }
      navigator.clipboard.writeText(target.textContent.trim()).then(
        function () { say(button.dataset.copied); },
        function () { say(button.dataset.copyFailed); }
      );
    });
  });
})();
