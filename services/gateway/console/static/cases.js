// Content-detection cases, newest first: the open ones with Ban and Dismiss, the resolved ones
// with who resolved them. Read again every two seconds while the tab is shown.

import { api, newKey } from "./api.js";
import { clear, el, httpUrl, notice, when } from "./dom.js";

const REFRESH_MS = 2000;

export class Cases {
  constructor(onAnchor, onError) {
    this.onAnchor = onAnchor;
    this.onError = onError;
    this.list = document.getElementById("cases-list");
    this.status = document.getElementById("cases-status");
    this.timer = null;
    this.shown = "";
    this.status.addEventListener("change", () => this.refresh());
  }

  start() {
    this.refresh();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  async refresh() {
    this.stop();
    try {
      const { cases } = await api("GET", "/v1/admin/cases", { query: { status: this.status.value, limit: 100 } });
      this.render(cases);
    } catch (error) {
      if (this.onError(error)) return;
    }
    this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
  }

  render(cases) {
    // Redrawn only when a case came, went or changed, so a reason being typed is not lost.
    const shown = JSON.stringify(cases.map((c) => [c.id, c.status]));
    if (shown === this.shown) return;
    this.shown = shown;
    clear(this.list);
    document.getElementById("cases-count").textContent = `${cases.length} ${this.status.value} case(s)`;
    for (const c of cases) this.list.append(this.card(c));
  }

  card(c) {
    const shot = httpUrl(c.img);
    const anchor = c.anchor_id
      ? el("button", { type: "button", class: "link", onclick: () => this.onAnchor(c.anchor_id) }, c.anchor_id) : "unknown";
    const node = el("article", { class: "card case", "data-case-id": c.id },
      shot ? el("img", { src: shot, alt: "", title: "the detection's screenshot", onerror: (e) => e.target.removeAttribute("src") })
        : el("div", { class: "noshot" }, "no screenshot"),
      el("h3", {}, `${c.label || "unlabelled"} · score ${c.score ?? "?"}`),
      el("p", {}, `suggestion ${c.suggestion || "none"} · ${when(c.created_at)}`),
      el("p", {}, "room ", c.room_id || "unknown", " · anchor ", anchor));
    if (c.status === "open") {
      const reason = el("input", { name: "reason", value: c.label ? `detection: ${c.label}` : "detection", maxlength: 500 });
      node.append(el("div", { class: "actions" }, reason,
        el("button", { type: "button", class: "danger", onclick: () => this.resolve(c, "ban", reason.value) }, "Ban"),
        el("button", { type: "button", onclick: () => this.resolve(c, "dismiss", null) }, "Dismiss")));
    } else {
      node.append(el("p", { class: "resolved" }, `${c.status}${c.resolved_by ? ` by ${c.resolved_by}` : " automatically"}` +
        (c.resolved_at ? ` at ${when(c.resolved_at)}` : "")));
    }
    return node;
  }

  async resolve(c, action, reason) {
    try {
      const body = action === "ban" ? { action, reason } : { action };
      await api("POST", `/v1/admin/cases/${encodeURIComponent(c.id)}/resolve`, { body, idempotent: newKey() });
      notice(action === "ban" ? `Case ${c.id}: ${c.anchor_id} banned.` : `Case ${c.id} dismissed.`);
      this.shown = "";
      this.refresh();
    } catch (error) {
      this.onError(error);
    }
  }
}
