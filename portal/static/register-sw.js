// Registers the portal's service worker (it caches the shell only; see /portal/sw.js).
if ("serviceWorker" in navigator) {
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/portal/sw.js", { scope: "/portal/" }).catch(function () {
      // The portal works without it (e.g. on plain http other than localhost).
    });
  });
}
