// The web app's offline shell: a service worker of its own (a few lines are clearer here than
// Workbox). At install it caches the page and every file of the build (Vite's
// asset-manifest.json lists them); a page load then works with the server down, and the app
// reads the copy of the account the package keeps in localStorage.
//
// - A page (a navigation) comes from the network when it can, else from the cache.
// - A file of the build (`/assets/…`, hashed: it never changes) comes from the cache first.
// - Nothing else is touched: every API call (`/v1/…`) goes to the network as if there were no
//   worker, so no answer of the server (nor its bearer token) is ever stored here.
const CACHE = 'ai-credits-shell';
const MANIFEST = '/asset-manifest.json';

/** Every file of the build, from the manifest Vite writes. */
async function buildFiles() {
  const manifest = await (await fetch(MANIFEST, { cache: 'no-store' })).json();
  const files = new Set(['/', MANIFEST]);
  for (const chunk of Object.values(manifest)) {
    for (const file of [chunk.file, ...(chunk.css ?? []), ...(chunk.assets ?? [])]) {
      if (file) files.add(`/${file}`);
    }
  }
  return [...files];
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const files = await buildFiles();
    await cache.addAll(files);
    // Files of earlier builds are dropped (hashed names: they are never asked for again).
    for (const request of await cache.keys()) {
      const path = new URL(request.url).pathname;
      if (!files.includes(path)) await cache.delete(request);
    }
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith((async () => {
      try {
        const fresh = await fetch(request);
        if (fresh.ok && (url.pathname === '/' || url.pathname === '/index.html')) {
          await (await caches.open(CACHE)).put('/', fresh.clone());
        }
        return fresh;
      } catch {
        return (await caches.match('/')) ?? Response.error();
      }
    })());
  } else if (url.pathname.startsWith('/assets/')) {
    event.respondWith((async () => (await caches.match(request)) ?? fetch(request))());
  }
});
