// The web chat: Converse.js, served by Perch itself, set up for this server's WebSocket
// endpoint and chat service. Nothing is loaded from elsewhere.
import converse from '/dist/converse.min.js';

const info = await (await fetch('/api/v1/info')).json();
const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';

converse.initialize({
  websocket_url: scheme + location.host + info.websocket_path,
  discover_connection_methods: false, // the endpoint is known; host-meta would override it
  assets_path: '/dist/',
  view_mode: 'fullscreen',
  locked_domain: info.domain, // users sign in with their name only
  muc_domain: info.muc_domain,
  muc_nickname_from_jid: true, // join rooms at once, under one's user name
  allow_registration: false,
  show_client_info: false,
  auto_reconnect: true,
  show_self_in_roster: false, // one's own address is not a contact
  loglevel: 'warn',
  // End-to-end encryption would hide room content from the archive and the compliance
  // record that persistent chat keeps; its WebAssembly is not loaded either.
  blacklisted_plugins: ['converse-omemo'],
});
