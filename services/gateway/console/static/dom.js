// Every value from users reaches the page as text (textContent, attribute values, URLs checked
// to be http(s)): never as HTML. There is no innerHTML anywhere in the console.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}

export function httpUrl(value) {
  // Pictures only from http(s) URLs: a `javascript:` or `data:` URL from a user is dropped.
  try {
    const url = new URL(value, location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function facts(list, pairs) {
  clear(list);
  for (const [name, value] of pairs) list.append(el("dt", {}, name), el("dd", {}, value ?? ""));
}

export function notice(text, kind = "info") {
  const node = document.getElementById("notice");
  node.textContent = text;
  node.className = kind;
}
