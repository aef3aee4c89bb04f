// The "PDF being prepared" page asks every few seconds whether the worker has made the
// file; once it is ready the download starts (and a link stays for a second try), and a
// failure reloads the page, which then says why.
(function () {
  "use strict";
  const box = document.getElementById("document-status");
  if (!box) return;
  const pollMs = Math.max(1, parseInt(box.dataset.pollSeconds || "2", 10)) * 1000;

  async function check() {
    let state = "pending";
    try {
      const response = await fetch(box.dataset.statusUrl, {
        headers: { "X-Requested-With": "fetch" },
      });
      if (response.ok) state = (await response.json()).state;
    } catch (error) {
      // The server is briefly unreachable: ask again at the next tick.
    }
    if (state === "ready") {
      box.querySelector("progress").hidden = true;
      document.getElementById("document-ready").hidden = false;
      window.location.assign(box.dataset.downloadUrl);
    } else if (state === "failed") {
      window.location.reload();
    } else {
      window.setTimeout(check, pollMs);
    }
  }
  window.setTimeout(check, pollMs);
})();
