// One room up close: its HLS in the page (hls.js; Safari plays HLS natively), its counters read
// every second, and the two actions: Ban (the anchor, for a reason and a time) and Close.

import { api, newKey } from "./api.js";
import { facts, notice, when } from "./dom.js";

const REFRESH_MS = 1000;

export class RoomPanel {
  constructor(onDone, onError) {
    this.onDone = onDone;
    this.onError = onError;
    this.section = document.getElementById("room");
    this.video = document.getElementById("player");
    this.roomId = null;
    this.hls = null;
    this.timer = null;
    document.getElementById("room-back").addEventListener("click", () => this.onDone());
    document.getElementById("room-ban").addEventListener("submit", (event) => this.ban(event));
    document.getElementById("room-close").addEventListener("click", () => this.closeRoom());
  }

  async open(roomId) {
    this.roomId = roomId;
    this.section.hidden = false;
    const room = await this.refresh();
    if (room && room.play_urls) this.play(room.play_urls.hls);
  }

  leave() {
    clearTimeout(this.timer);
    this.roomId = null;
    if (this.hls) this.hls.destroy();
    this.hls = null;
    this.video.removeAttribute("src");
    this.video.load();
    this.section.hidden = true;
  }

  play(url) {
    if (window.Hls && window.Hls.isSupported()) {
      const hls = new window.Hls({ enableWorker: false });  // no blob: worker, so the CSP needs none
      // A room just gone live may have no playlist yet (404 until the first segments are cut),
      // and a push may stall: a fatal error is tried again every two seconds while it is open.
      hls.on(window.Hls.Events.ERROR, (_, data) => {
        if (data.fatal && this.hls === hls) setTimeout(() => { if (this.hls === hls) hls.loadSource(url); }, 2000);
      });
      hls.loadSource(url);
      hls.attachMedia(this.video);
      this.hls = hls;
    } else {
      this.video.src = url;
    }
    this.video.play().catch(() => {});  // muted autoplay; a refusal leaves the controls to the moderator
  }

  async refresh() {
    clearTimeout(this.timer);
    const roomId = this.roomId;
    if (!roomId) return null;
    let room = null;
    try {
      room = await api("GET", `/v1/rooms/${encodeURIComponent(roomId)}`);
      if (roomId !== this.roomId) return null;
      document.getElementById("room-title").textContent = room.title;
      facts(document.getElementById("room-facts"), [
        ["Room", room.id], ["Anchor", room.anchor_id], ["Status", room.status + (room.close_reason ? ` (${room.close_reason})` : "")],
        ["Push", room.stream_state || ""], ["Watching now", room.viewers_now], ["Viewers", room.viewers],
        ["Likes", room.likes], ["Category", room.category || ""], ["Live since", when(room.activated_at)],
      ]);
    } catch (error) {
      if (this.onError(error)) return null;
    }
    this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
    return room;
  }

  async ban(event) {
    event.preventDefault();
    const form = event.target;
    const body = { reason: form.reason.value, duration_hours: Number(form.hours.value) };
    try {
      const banned = await api("POST", `/v1/admin/rooms/${encodeURIComponent(this.roomId)}/ban`,
        { body, idempotent: newKey() });
      notice(`Banned ${banned.anchor_id} until ${when(banned.banned_until)}; closed ${banned.closed_room_ids.length} room(s).`);
      this.onDone();
    } catch (error) {
      this.onError(error);
    }
  }

  async closeRoom() {
    try {
      const room = await api("POST", `/v1/admin/rooms/${encodeURIComponent(this.roomId)}/close`);
      notice(`Closed room ${room.id}.`);
      this.onDone();
    } catch (error) {
      this.onError(error);
    }
  }
}
