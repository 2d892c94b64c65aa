// A grid of room cards kept by room id: a refresh adds, moves and removes only what changed, and
// updates the counters in place, so the wall can be redrawn every second without flicker.

import { el, httpUrl } from "./dom.js";

const THUMBNAIL_MS = 10000;  // a new frame is asked for this often (the media server makes one every 5 s)

function picture(room) {
  if (room.thumbnail_url) {
    const url = httpUrl(room.thumbnail_url);
    if (url) return `${url}${url.includes("?") ? "&" : "?"}v=${Math.floor(Date.now() / THUMBNAIL_MS)}`;
  }
  return httpUrl(room.cover_url);
}

export class CardGrid {
  constructor(grid, onOpen) {
    this.grid = grid;
    this.onOpen = onOpen;
    this.cards = new Map();
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
