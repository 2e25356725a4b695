// The portal's service worker: caches the shell (CSS, icons, the offline page) and nothing else.
// Authenticated pages and API answers always go to the network and are never stored.
const SHELL = "multibill-shell-__VERSION__";
const SHELL_FILES = [
  "/portal/static/portal.css",
  "/portal/static/register-sw.js",
  "/portal/static/icons/icon-192.png",
  "/portal/static/icons/icon-512.png",
  "/portal/static/icons/maskable-512.png",
  "/portal/offline",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("multibill-shell-") && k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (SHELL_FILES.includes(url.pathname)) {
    // the shell: cache first, refreshed by a new service worker version
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
    return;
  }
  if (request.mode === "navigate") {
    // pages: always the network (never cached); the offline page when there is none
    event.respondWith(fetch(request).catch(() => caches.match("/portal/offline")));
  }
});
