// The desk's only script (no CDN, no inline code): live list and delivery status, drag-and-drop upload.
"use strict";

const RETRY_MS = 2000;  // after a failed request, or when the desk asks to come back later

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Ask the desk for news: it answers as soon as what `url` shows changed from `version`
// (200, with the new version), or with 204 after a while; either way ask again at once.
// Signed out (the request was sent to the sign-in page): go there, leaving nothing on screen.
async function follow(url, version, show) {
  for (;;) {
    let answer;
    try {
      answer = await fetch(`${url}?since=${encodeURIComponent(version)}`, { credentials: "same-origin", cache: "no-store" });
    } catch (error) {
      await pause(RETRY_MS);
      continue;
    }
    if (answer.redirected) {
      window.location.assign(new URL(answer.url).pathname);
      return;
    }
    if (answer.status === 200 && answer.headers.has("X-Desk-Version")) {
      version = answer.headers.get("X-Desk-Version");
      await show(answer);
    } else if (answer.status !== 204 || answer.headers.has("Retry-After")) {
      await pause(RETRY_MS);
    }
  }
}

function liveRows() {
  const body = document.getElementById("rows");
  if (!body || !body.dataset.live) return;
  let waiting = null;
  // Leave the list alone while the advisor is on it with the keyboard; show the news after.
  const swap = () => {
    if (waiting !== null && !body.contains(document.activeElement)) { body.innerHTML = waiting; waiting = null; }
  };
  body.addEventListener("focusout", () => setTimeout(swap, 0));
  follow(body.dataset.live, body.dataset.version, async (answer) => { waiting = await answer.text(); swap(); });
}

function liveDelivery() {
  const cell = document.getElementById("delivery");
  if (!cell) return;
  follow(cell.dataset.status, cell.dataset.version, async (answer) => {
    const found = (await answer.json()).documents.find((d) => d.id === cell.dataset.id);
    if (found && found.delivery && cell.dataset.state !== found.delivery) {
      cell.dataset.state = found.delivery;
      cell.textContent = found.delivery_label;
    }
  });
}

function dropUpload() {
  const form = document.getElementById("upload");
  if (!form) return;
  const stop = (event) => { event.preventDefault(); event.stopPropagation(); };
  ["dragenter", "dragover"].forEach((name) => form.addEventListener(name, (e) => { stop(e); form.classList.add("over"); }));
  ["dragleave", "drop"].forEach((name) => form.addEventListener(name, (e) => { stop(e); form.classList.remove("over"); }));
  form.addEventListener("drop", async (event) => {
    const data = new FormData();
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    for (const file of event.dataTransfer.files) data.append("files", file);
    await fetch(form.action, { method: "POST", body: data, credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
  });
}

document.addEventListener("DOMContentLoaded", () => { liveRows(); liveDelivery(); dropUpload(); });
