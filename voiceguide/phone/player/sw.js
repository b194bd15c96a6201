// voiceguide's service worker: the page and every session saved for offline keep playing,
// and seeking, with no network. The page itself (the "shell") is fetched from the network
// when it can be, so a new publish shows, and from the cache when it cannot; a saved
// session's files come from its cache, Range requests (players seek with them) answered
// from the stored copy with 206 and exactly the asked bytes.
"use strict";

const SHELL = "voiceguide-shell";
const SHELL_FILES = ["index.html", "player.js", "player.css", "manifest.webmanifest"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_FILES)));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  if (event.data === "keep-shell") {
    event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_FILES)));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(answer(request));
});

// The shell's cache key for *url* (the folder itself is its index.html), or null.
function shellKey(url) {
  const scope = new URL(self.registration.scope);
  if (!url.pathname.startsWith(scope.pathname)) return null;
  const path = url.pathname.slice(scope.pathname.length);
  if (path === "" || path === "index.html") return new URL("index.html", scope).href;
  return SHELL_FILES.includes(path) ? new URL(path, scope).href : null;
}

async function answer(request) {
  const url = new URL(request.url);
  const key = shellKey(url);
  if (key) {
    try {
      const fresh = await fetch(request);
      if (fresh.ok) await (await caches.open(SHELL)).put(key, fresh.clone());
      return fresh;
    } catch (e) {
      const kept = await caches.match(key);
      if (kept) return kept;
      throw e;
    }
  }
  const kept = await caches.match(url.href, { ignoreSearch: true, ignoreVary: true });
  if (!kept) return fetch(request);
  const range = request.headers.get("Range");
  return range ? ranged(kept, range) : kept;
}

async function ranged(response, header) {
  const body = await response.blob();
  const size = body.size;
  const type = response.headers.get("Content-Type") || "application/octet-stream";
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) {
    return new Response(body, { status: 200, headers: { "Content-Type": type } });
  }
  let start;
  let end;
  if (match[1] === "") {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) {
    return new Response("", { status: 416, headers: { "Content-Range": `bytes */${size}` } });
  }
  return new Response(body.slice(start, end + 1), {
    status: 206,
    headers: {
      "Content-Type": type,
      "Content-Range": `bytes ${start}-${end}/${size}`,
      "Content-Length": String(end - start + 1),
      "Accept-Ranges": "bytes",
    },
  });
}
