// Sign-in and the three tabs. The token comes from the page's fragment (`#token=...`: a fragment
// never reaches a server or its logs) or is pasted, and is kept in sessionStorage. A token that
// is not a moderator's is told so and not kept.

import { api, forgetToken, keepToken, token } from "./api.js";
import { Anchors } from "./anchors.js";
import { Cases } from "./cases.js";
import { notice } from "./dom.js";
import { RoomPanel } from "./room.js";
import { Wall } from "./wall.js";

const $ = (id) => document.getElementById(id);

function subject(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part)).sub || "";
  } catch {
    return "";
  }
}

function signedOut(message) {
  forgetToken();
  $("console").hidden = true;
  $("tabs").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("sign-in").hidden = false;
  notice(message, "error");
  stopAll();
}

// Every failed call lands here; true when it ended the session (the caller stops its loop).
function failed(error) {
  if (error.status === 401) {
    signedOut("The token was refused (expired or invalid): sign in again.");
    return true;
  }
  if (error.status === 403) {
    signedOut("This token is not a moderator's: the console needs a token with the admin role.");
    return true;
  }
  notice(`${error.message}${error.status ? ` (HTTP ${error.status})` : ""}`, "error");
  return false;
}

const panel = new RoomPanel(() => show("wall"), failed);
const wall = new Wall((roomId) => openRoom(roomId), failed);
const cases = new Cases((anchorId) => { show("anchors"); anchors.show(anchorId); }, failed);
const anchors = new Anchors(failed);

function stopAll() {
  wall.stop();
  cases.stop();
  panel.leave();
}

function show(tab) {
  stopAll();
  for (const section of document.querySelectorAll(".tab")) section.hidden = section.id !== tab;
  for (const button of document.querySelectorAll("#tabs button")) button.classList.toggle("active", button.dataset.tab === tab);
  if (tab === "wall") wall.refresh();
  if (tab === "cases") cases.start();
}

function openRoom(roomId) {
  stopAll();
  for (const section of document.querySelectorAll(".tab")) section.hidden = true;
  panel.open(roomId);
}

async function signIn() {
  try {
    await api("GET", "/v1/admin/cases", { query: { limit: 1 } });  // a moderator's route: 403 for anyone else
  } catch (error) {
    if (!failed(error)) $("sign-in").hidden = false;
    return;
  }
  $("sign-in").hidden = true;
  $("console").hidden = false;
  $("tabs").hidden = false;
  $("sign-out").hidden = false;
  $("who").textContent = `signed in as ${subject(token())}`;
  notice("");
  await wall.start();
}

function fromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.has("token")) return false;
  keepToken(params.get("token"));
  history.replaceState(null, "", location.pathname + location.search);  // off the address bar and history
  return true;
}

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  keepToken($("token").value);
  $("token").value = "";
  signIn();
});
$("sign-out").addEventListener("click", () => signedOut("Signed out."));
for (const button of document.querySelectorAll("#tabs button")) button.addEventListener("click", () => show(button.dataset.tab));

window.addEventListener("hashchange", () => { if (fromFragment()) signIn(); });  // a link opened in this tab
fromFragment();
if (token()) signIn();
else $("sign-in").hidden = false;
