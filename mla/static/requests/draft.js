// Keeps what is typed in a section in this browser until the server has it, so that an
// expired session or a closed tab loses nothing: the next visit offers to restore it.
(function () {
  "use strict";
  var form = document.getElementById("section-form");
  if (!form || !window.localStorage) { return; }
  var key = "mla-draft:" + form.dataset.draftKey;

  function snapshot() {
    var values = {};
    new FormData(form).forEach(function (value, name) {
      if (name === "csrfmiddlewaretoken" || name === "version") { return; }
      (values[name] = values[name] || []).push(String(value));
    });
    return values;
  }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  var initial = snapshot();
  var stored = null;
  try { stored = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { stored = null; }
  if (stored && stored.values && !same(stored.values, initial)) {
    var offer = form.querySelector(".restore");
    offer.hidden = false;
    offer.querySelector("button").addEventListener("click", function () {
      Object.keys(stored.values).forEach(function (name) {
        var fields = form.querySelectorAll('[name="' + CSS.escape(name) + '"]');
        var posted = stored.values[name];
        fields.forEach(function (field, index) {
          if (field.type === "checkbox" || field.type === "radio") {
            field.checked = posted.indexOf(field.value === "on" ? "on" : field.value) !== -1;
          } else if (index < posted.length) {
            field.value = posted[index];
          }
        });
      });
      offer.hidden = true;
    });
  } else {
    localStorage.removeItem(key);
  }
  function remember() {
    var values = snapshot();
    if (same(values, initial)) { localStorage.removeItem(key); return; }
    localStorage.setItem(key, JSON.stringify({ version: form.dataset.version, values: values }));
  }
  form.addEventListener("input", remember);
  form.addEventListener("change", remember);
})();
