// The desk's only script (no CDN, no inline code): live list and delivery status, drag-and-drop upload.
"use strict";

const REFRESH_MS = 1000;  // tools/desk_latency.py counts it in the time to screen

function refreshRows() {
  const body = document.getElementById("rows");
  if (!body || !body.dataset.refresh) return;
  setInterval(async () => {
    // Leave the list alone while the advisor is on it with the keyboard.
    if (body.contains(document.activeElement)) return;
    const answer = await fetch(body.dataset.refresh, { credentials: "same-origin", cache: "no-store" });
    if (answer.ok && !answer.redirected) {
      const html = await answer.text();
      if (html !== body.dataset.last) { body.innerHTML = html; body.dataset.last = html; }
    }
  }, REFRESH_MS);
}

function refreshDelivery() {
  const cell = document.getElementById("delivery");
  if (!cell) return;
  setInterval(async () => {
    const answer = await fetch(cell.dataset.status, { credentials: "same-origin", cache: "no-store" });
    if (!answer.ok || answer.redirected) return;
    const found = (await answer.json()).documents.find((d) => d.id === cell.dataset.id);
    if (found && found.delivery && cell.dataset.state !== found.delivery) {
      cell.dataset.state = found.delivery;
      cell.textContent = found.delivery_label;
    }
  }, REFRESH_MS);
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

document.addEventListener("DOMContentLoaded", () => { refreshRows(); refreshDelivery(); dropUpload(); });
