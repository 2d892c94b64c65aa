// One anchor's record: followers, the ban in force (with Unban), their rooms and their bans.

import { api } from "./api.js";
import { clear, el, notice, when } from "./dom.js";

function table(headings, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((cell) => el("td", {}, cell))))));
}

export class Anchors {
  constructor(onError) {
    this.onError = onError;
    this.record = document.getElementById("anchor-record");
    this.input = document.getElementById("anchor-id");
    document.getElementById("anchor-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.show(this.input.value.trim());
    });
  }

  async show(anchorId) {
    this.input.value = anchorId;
    try {
      const record = await api("GET", `/v1/admin/anchors/${encodeURIComponent(anchorId)}`);
      this.render(record);
    } catch (error) {
      this.onError(error);
    }
  }

  render(record) {
    clear(this.record);
    const banned = record.banned_until
      ? el("p", { class: "banned" }, `Banned until ${when(record.banned_until)} `,
        el("button", { type: "button", onclick: () => this.unban(record.anchor_id) }, "Unban"))
      : el("p", {}, "Not banned");
    this.record.append(
      el("h2", {}, record.anchor_id), el("p", {}, `${record.followers} followers`), banned,
      el("h3", {}, "Rooms"),
      table(["Room", "Title", "Status", "Created", "Closed"], record.rooms.map((r) => [
        r.id, r.title, r.status + (r.close_reason ? ` (${r.close_reason})` : ""), when(r.created_at), when(r.closed_at)])),
      el("h3", {}, "Bans"),
      table(["Since", "Until", "Reason", "By", "Room", "Lifted"], record.bans.map((b) => [
        when(b.at), when(b.until), b.reason, b.by, b.room_id,
        b.lifted_by ? `by ${b.lifted_by} at ${when(b.lifted_at)}` : ""])));
  }

  async unban(anchorId) {
    try {
      await api("POST", `/v1/admin/anchors/${encodeURIComponent(anchorId)}/unban`);
      notice(`${anchorId} unbanned.`);
      this.show(anchorId);
    } catch (error) {
      this.onError(error);
    }
  }
}
