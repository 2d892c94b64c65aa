// The live wall: the hot list a page at a time (50 rooms), the page on screen read again every
// second. Moderators are few: a cached list page a second each costs the gateway next to
// nothing, where a list-wide event stream would be one more thing every gateway keeps for them.
// `hot` is ranked every 5 s, so above its first page "Just live" shows the rooms that went live
// in the last 30 s and are not ranked there yet (from the `new` order): a new room is on the
// wall within a read, and moderators see new shows first.

import { api } from "./api.js";
import { CardGrid } from "./cards.js";
import { el } from "./dom.js";

const PAGE = 50;
const REFRESH_MS = 1000;
const JUST_LIVE_MS = 30000;

export class Wall {
  constructor(onOpen, onError) {
    this.onError = onError;
    this.hot = new CardGrid(document.getElementById("wall-grid"), onOpen);
    this.fresh = new CardGrid(document.getElementById("wall-new"), onOpen);
    this.category = document.getElementById("wall-category");
    this.cursors = [null];  // the cursor of each page seen; page n is read with cursors[n]
    this.page = 0;
    this.timer = null;
    this.category.addEventListener("change", () => this.restart());
    document.getElementById("wall-next").addEventListener("click", () => this.turn(1));
    document.getElementById("wall-prev").addEventListener("click", () => this.turn(-1));
  }

  async start() {
    try {
      const { categories } = await api("GET", "/v1/categories");
      while (this.category.options.length > 1) this.category.options[1].remove();  // signed in again
      for (const { name } of categories) this.category.append(el("option", { value: name }, name));
    } catch (error) {
      this.onError(error);
    }
    this.restart();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  restart() {
    this.cursors = [null];
    this.page = 0;
    this.refresh();
  }

  turn(by) {
    this.page = Math.max(0, Math.min(this.page + by, this.cursors.length - 1));
    this.refresh();
  }

  async refresh() {
    this.stop();
    const category = this.category.value;
    try {
      const [hot, newest] = await Promise.all([
        api("GET", "/v1/rooms", { query: { sort: "hot", limit: PAGE, category, cursor: this.cursors[this.page] } }),
        this.page === 0 ? api("GET", "/v1/rooms", { query: { sort: "new", limit: PAGE, category } }) : null,
      ]);
      this.cursors.length = this.page + 1;
      if (hot.next_cursor) this.cursors.push(hot.next_cursor);
      this.render(hot.rooms, newest ? newest.rooms : []);
    } catch (error) {
      if (error.status === 400 && this.page > 0) this.page = 0;  // a pinned ranking expired
      else if (this.onError(error)) return;
    }
    this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
  }

  render(hot, newest) {
    const ranked = new Set(hot.map((room) => room.id));
    const since = Date.now() - JUST_LIVE_MS;
    const fresh = newest.filter((room) => !ranked.has(room.id) && Date.parse(room.activated_at) >= since);
    this.fresh.render(fresh);
    this.hot.render(hot);
    document.getElementById("wall-new-box").hidden = fresh.length === 0;
    document.getElementById("wall-count").textContent = `${hot.length} rooms on this page`;
    document.getElementById("wall-page").textContent = `page ${this.page + 1}`;
    document.getElementById("wall-prev").disabled = this.page === 0;
    document.getElementById("wall-next").disabled = this.cursors.length <= this.page + 1;
  }
}
