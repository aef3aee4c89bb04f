// The queue keeps itself current: it asks the server every few seconds whether anything
// changed, and if so replaces the rows in place, keeping the filters (they are in the URL),
// the scroll position and the ticked boxes. Urgent arrivals are announced in a banner and,
// if the user turned sound on, with a short tone.
(function () {
  "use strict";
  const rows = document.getElementById("queue-rows");
  if (!rows) return;
  const alertBox = document.getElementById("queue-alert");
  const sound = document.getElementById("queue-sound");
  const changesUrl = rows.dataset.changesUrl;
  const pollMs = Math.max(1, parseInt(rows.dataset.pollSeconds || "15", 10)) * 1000;
  // The latest change seen (to know when to redraw) and the server time of the last check
  // (to ask only for urgent arrivals after it).
  let latest = rows.dataset.latest || "";
  let checkedAt = rows.dataset.now || "";

  if (sound) {
    sound.checked = localStorage.getItem("queue-sound") === "on";
    sound.addEventListener("change", function () {
      localStorage.setItem("queue-sound", sound.checked ? "on" : "off");
    });
  }

  function beep() {
    try {
      const context = new (window.AudioContext || window.webkitAudioContext)();
      const tone = context.createOscillator();
      tone.frequency.value = 880;
      tone.connect(context.destination);
      tone.start();
      tone.stop(context.currentTime + 0.3);
    } catch (error) {
      // No audio here: the banner is the announcement.
    }
  }

  function announce(arrivals) {
    alertBox.textContent = "";
    const intro = document.createElement("strong");
    intro.textContent = rows.dataset.urgentText + " ";
    alertBox.appendChild(intro);
    arrivals.forEach(function (arrival, index) {
      const link = document.createElement("a");
      link.href = arrival.url;
      link.textContent = arrival.reference;
      if (index) alertBox.appendChild(document.createTextNode(", "));
      alertBox.appendChild(link);
    });
    alertBox.hidden = false;
    if (sound && sound.checked) beep();
  }

  async function refreshRows() {
    const url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    const response = await fetch(url, { headers: { "X-Requested-With": "fetch" } });
    if (!response.ok) return;
    const ticked = new Set(
      Array.from(rows.querySelectorAll("input[name=copy]:checked")).map((box) => box.value)
    );
    rows.innerHTML = await response.text();
    rows.querySelectorAll("input[name=copy]").forEach(function (box) {
      box.checked = ticked.has(box.value);
    });
  }

  async function poll() {
    try {
      const url = new URL(changesUrl, window.location.href);
      if (checkedAt) url.searchParams.set("since", checkedAt);
      const response = await fetch(url, { headers: { "X-Requested-With": "fetch" } });
      if (response.ok) {
        const changes = await response.json();
        checkedAt = changes.now || checkedAt;
        if (changes.urgent && changes.urgent.length) announce(changes.urgent);
        if (changes.latest && changes.latest !== latest) {
          latest = changes.latest;
          await refreshRows();
        }
      }
    } catch (error) {
      // Offline for a moment (a session expiry, the network): try again at the next tick.
    }
    window.setTimeout(poll, pollMs);
  }
  window.setTimeout(poll, pollMs);
})();
