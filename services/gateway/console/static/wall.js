// The live wall: the hot list a page at a time (50 rooms), the page on screen read again every
// second, its cards kept by room id so a refresh only touches what changed. Moderators are few:
// a cached list page a second each costs the gateway next to nothing, where a list-wide event
// stream would be one more thing every gateway keeps for them.

import { api } from "./api.js";
import { el, httpUrl } from "./dom.js";

const PAGE = 50;
const REFRESH_MS = 1000;
const THUMBNAIL_MS = 10000;

function picture(room) {
  if (room.thumbnail_url) {
    const url = httpUrl(room.thumbnail_url);
    if (url) return `${url}${url.includes("?") ? "&" : "?"}v=${Math.floor(Date.now() / THUMBNAIL_MS)}`;
  }
  return httpUrl(room.cover_url);
}

export class Wall {
  constructor(onOpen, onError) {
    this.onOpen = onOpen;
    this.onError = onError;
    this.grid = document.getElementById("wall-grid");
    this.category = document.getElementById("wall-category");
    this.cursors = [null];  // the cursor of each page seen; page n is read with cursors[n]
    this.page = 0;
    this.cards = new Map();
    this.timer = null;
    this.category.addEventListener("change", () => this.restart());
    document.getElementById("wall-next").addEventListener("click", () => this.turn(1));
    document.getElementById("wall-prev").addEventListener("click", () => this.turn(-1));
  }

  async start() {
    try {
      const { categories } = await api("GET", "/v1/categories");
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
    try {
      const list = await api("GET", "/v1/rooms", {
        query: { sort: "hot", limit: PAGE, category: this.category.value, cursor: this.cursors[this.page] },
      });
      this.cursors.length = this.page + 1;
      if (list.next_cursor) this.cursors.push(list.next_cursor);
      this.render(list.rooms);
    } catch (error) {
      if (error.status === 400 && this.page > 0) this.page = 0;  // a pinned ranking expired
      else if (this.onError(error)) return;
    }
    this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
  }

  render(rooms) {
    const seen = new Set();
    rooms.forEach((room, index) => {
      seen.add(room.id);
      let card = this.cards.get(room.id);
      if (!card) {
        card = this.card(room);
        this.cards.set(room.id, card);
      }
      this.update(card, room);
      if (this.grid.children[index] !== card.node) this.grid.insertBefore(card.node, this.grid.children[index] || null);
    });
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) {
        card.node.remove();
        this.cards.delete(id);
      }
    }
    document.getElementById("wall-count").textContent = `${rooms.length} rooms on this page`;
    document.getElementById("wall-page").textContent = `page ${this.page + 1}`;
    document.getElementById("wall-prev").disabled = this.page === 0;
    document.getElementById("wall-next").disabled = this.cursors.length <= this.page + 1;
  }

  card(room) {
    const image = el("img", { alt: "", loading: "lazy" });
    const counts = el("span", { class: "counts" });
    const node = el("article", { class: "card", "data-room-id": room.id, tabindex: 0, onclick: () => this.onOpen(room.id) },
      image, el("h3", { class: "title" }, room.title), el("p", { class: "anchor" }, `by ${room.anchor_id}`), counts);
    node.addEventListener("keydown", (event) => { if (event.key === "Enter") this.onOpen(room.id); });
    const card = { node, image, counts, wanted: undefined, cover: httpUrl(room.cover_url) };
    // No frame yet (a room just live) or none any more: the cover, else the empty box.
    image.addEventListener("error", () => {
      if (card.cover && image.src !== card.cover) image.src = card.cover;
      else image.removeAttribute("src");
    });
    return card;
  }

  update(card, room) {
    const wanted = picture(room);
    if (wanted !== card.wanted) {  // a new frame every THUMBNAIL_MS; nothing to do in between
      card.wanted = wanted;
      if (wanted) card.image.src = wanted;
      else card.image.removeAttribute("src");
    }
    card.counts.textContent = `${room.viewers_now} watching · ${room.viewers} viewers · ${room.likes} likes` +
      (room.category ? ` · ${room.category}` : "");
  }
}
