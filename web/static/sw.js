// Zoner's service worker: keeps the app shell, so the UI opens while the
// hub is out of reach, and the last answers of the hub's API, so the plan
// shows too (marked as a saved copy). Writes are not its business: the
// page's outbox keeps them. The hub fills VERSION and SHELL when it serves
// this file; a new version replaces the old shell.

const VERSION = "__ZONER_VERSION__";
const SHELL = ["__ZONER_SHELL__"];
const SHELL_CACHE = `zoner-shell-${VERSION}`;
const DATA_CACHE = 'zoner-data';

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('zoner-shell-') && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname === '/api/v1/stream' || url.pathname.endsWith('.ics') || url.pathname === '/metrics') return;
  // The cloud's API (the same UI served by the cloud): answers that carry
  // a bearer token are not kept.
  if (url.pathname.startsWith('/v1/')) return;
  if (url.pathname.startsWith('/api/')) {
    event.respondWith(networkFirst(req));
    return;
  }
  event.respondWith(shellFirst(req, url));
});

/** The hub's answer, saved; when the hub is away, the saved answer. */
async function networkFirst(req) {
  const cache = await caches.open(DATA_CACHE);
  try {
    const res = await fetch(req);
    if (res.ok) {
      const headers = new Headers(res.headers);
      headers.set('X-Zoner-Saved', new Date().toISOString());
      const body = await res.clone().arrayBuffer();
      await cache.put(req, new Response(body, { status: res.status, headers }));
    }
    return res;
  } catch (err) {
    const saved = await cache.match(req);
    if (saved) return saved;
    throw err;
  }
}

/** The shell from the cache; anything else from the hub. */
async function shellFirst(req, url) {
  const cache = await caches.open(SHELL_CACHE);
  const hit = await cache.match(url.pathname === '/index.html' ? '/' : url.pathname);
  if (hit) return hit;
  return fetch(req);
}

// Web Push reminders from the cloud: the payload is the cloud's Reminder
// JSON ({title, body, tag, kind, member_id, start, end, url}). A reminder
// with the tag of one already shown (the same item, moved) replaces it.
self.addEventListener('push', (event) => {
  let r = {};
  try {
    r = event.data ? event.data.json() : {};
  } catch {
    r = { body: event.data ? event.data.text() : '' };
  }
  const opts = {
    body: r.body || '',
    icon: '/icon.svg',
    badge: '/icon.svg',
    data: { url: r.url || '/', kind: r.kind, member_id: r.member_id, start: r.start },
  };
  if (r.tag) {
    opts.tag = r.tag;
    opts.renotify = true;
  }
  if (r.start) opts.timestamp = Date.parse(r.start);
  event.waitUntil(self.registration.showNotification(r.title || 'Zoner', opts));
});

// A tap on a reminder opens the app: a window already open on it is
// focused (and sent to the reminder's page), else a new one opens.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || '/', self.location.origin);
  if (url.origin !== self.location.origin) return;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const w of windows) {
      if (new URL(w.url).origin !== self.location.origin) continue;
      const focused = await w.focus();
      if (focused && w.url !== url.href && 'navigate' in focused) await focused.navigate(url.href).catch(() => {});
      return;
    }
    await self.clients.openWindow(url.href);
  })());
});
