// The admin console: every page calls the admin API (/admin/v1, docs/ADMIN_API.md) with the
// bearer token of a sign-in kept for this tab only (sessionStorage). Pages are built with DOM
// calls, never from HTML strings; every control has a label and works from the keyboard.

import { h } from '/static/dom.js';

const main = document.getElementById('main');
const statusLine = document.getElementById('status');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let refreshTimer = null;

function say(text, kind = 'ok') {
  statusLine.textContent = text;
  statusLine.className = kind;
}

function token() { return sessionStorage.getItem('perch-admin-token'); }

async function api(method, path, body) {
  const options = { method, headers: { Authorization: 'Bearer ' + token() } };
  if (body instanceof Blob) {  // an archive, sent as it is
    options.headers['Content-Type'] = 'application/x-tar';
    options.body = body;
  } else if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const response = await fetch('/admin/v1' + path, options);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401) {
    sessionStorage.removeItem('perch-admin-token');
    showSignIn();
  }
  if (!response.ok) {
    const error = new Error((data && data.error) || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

// A POST whose answer is a file (a compliance or data export): saved by the browser.
async function download(path, body, filename) {
  const response = await fetch('/admin/v1' + path, { method: 'POST',
    headers: { Authorization: 'Bearer ' + token(), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw new Error((data && data.error) || `HTTP ${response.status}`);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = h('a', { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return response.headers;
}

let fieldCount = 0;
function field(label, input, help) {
  input.id = input.id || 'f' + (++fieldCount);
  const parts = [h('label', { for: input.id }, label), input];
  if (help) {
    const helpId = input.id + '-help';
    input.setAttribute('aria-describedby', helpId);
    parts.push(h('small', { id: helpId }, help));
  }
  return h('div', {}, ...parts);
}
const text = (name, attrs = {}) => h('input', { type: 'text', name, ...attrs });
const select = (name, options, value) =>
  h('select', { name }, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
const checkbox = (label, checked) => {
  const box = h('input', { type: 'checkbox', checked });
  return [box, h('label', { class: 'check' }, box, label)];
};

function table(columns, rows, cell) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, columns.map(([key, label, optional]) =>
      h('th', { scope: 'col', class: optional ? 'optional' : null }, label)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, columns.map(([key, , optional]) =>
      h('td', { class: optional ? 'optional' : null }, cell(row, key))))))));
}

// A form whose submit runs `action`; errors go to the status line and nothing is lost.
function form(id, title, children, button, action) {
  const f = h('form', { class: 'card', id }, h('h2', {}, title), ...children,
    h('button', { type: 'submit' }, button));
  f.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await action();
    } catch (e) {
      say(e.message, 'error');
    }
  });
  return f;
}

async function act(what, work) {
  try {
    await work();
    say(what);
    await route();
  } catch (e) {
    say(e.message, 'error');
  }
}

function showSignIn() {
  nav.hidden = true;
  clearInterval(refreshTimer);
  const name = text('name', { autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const f = form('sign-in', 'Sign in', [h('p', {}, 'Use an admin account (not a chat login).'),
    field('Account', name), field('Password', password)], 'Sign in', async () => {
    const response = await fetch('/admin/v1/session', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: name.value, password: password.value }),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      password.value = '';
      password.focus();
      throw new Error(data.error || `HTTP ${response.status}`);
    }
    sessionStorage.setItem('perch-admin-token', data.token);
    sessionStorage.setItem('perch-admin-who', `${data.name} (${data.role})`);
    say('Signed in as ' + data.name + '.');
    route();
  });
  main.replaceChildren(h('h1', {}, 'Perch administration'), f);
  name.focus();
}

// Dashboard ----------------------------------------------------------------------------------

let previous = null;  // the last figures, for rates
async function showDashboard() {
  const health = await api('GET', '/health');
  let compliance = null;
  try { compliance = await api('GET', '/compliance'); } catch (e) { /* a role that may not */ }
  const now = Date.now();
  let postsPerSecond = '—', commitMs = '—', waitMs = '—';
  if (previous) {
    const seconds = (now - previous.at) / 1000;
    postsPerSecond = ((health.messages_posted - previous.health.messages_posted) / seconds).toFixed(1);
    const commits = health.store.commits - previous.health.store.commits;
    if (commits > 0)
      commitMs = ((health.store.commit_seconds - previous.health.store.commit_seconds) * 1000 / commits).toFixed(1);
    const jobs = health.store.jobs - previous.health.store.jobs;
    if (jobs > 0)
      waitMs = ((health.store.job_wait_seconds - previous.health.store.job_wait_seconds) * 1000 / jobs).toFixed(1);
  }
  previous = { at: now, health };
  const figure = (label, value) => h('div', {}, h('dt', {}, label), h('dd', {}, String(value)));
  const parts = [h('h1', {}, 'Dashboard'),
    h('dl', { class: 'figures', 'aria-label': 'Server figures' },
      figure('Sessions', health.sessions),
      figure('Rooms', health.rooms),
      figure('Posts per second', postsPerSecond),
      figure('Store commit, ms', commitMs),
      figure('Store job wait, ms', waitMs),
      figure('Store jobs queued', health.store.jobs_queued),
      figure('Failed chat logins', health.failed_logins),
      figure('Failed admin logins', health.admin_failed_logins),
      figure('Compliance backlog', compliance && compliance.enabled ? compliance.backlog + (compliance.backlog_more ? '+' : '') : 'off'),
      figure('Up for', `${Math.floor(health.uptime_s / 3600)} h ${Math.floor(health.uptime_s / 60) % 60} min`)),
    h('p', {}, `Perch ${health.version} serving ${health.domain}. Figures refresh every 5 seconds; rates are since the last refresh.`)];
  if (health.pool) {
    parts.push(h('h2', {}, `Pool: this is ${health.pool.server}`),
      table([['name', 'Server'], ['number', 'Number'], ['client_address', 'Clients connect to']],
        health.pool.live, (row, key) => String(row[key])));
  }
  main.replaceChildren(...parts);
  clearInterval(refreshTimer);
  refreshTimer = setInterval(() => { if (location.hash === '' || location.hash === '#/') showDashboard().catch(() => {}); }, 5000);
}

// Rooms --------------------------------------------------------------------------------------

const privacyChoices = [['open', 'Open'], ['closed', 'Closed (members only)'], ['secret', 'Secret (hidden, members only)']];
const typeChoices = [['normal', 'Normal'], ['auditorium', 'Auditorium (presenters speak)']];

async function showRooms() {
  const [rooms, categories] = await Promise.all([api('GET', '/rooms'), api('GET', '/categories')]);
  const node = text('node', { required: true, pattern: '[^@\\/ ]+' });
  const name = text('name', { maxlength: '256' });
  const category = select('category', categories.map((c) => [c.name, c.name]), categories[0] && categories[0].name);
  const privacy = select('privacy', privacyChoices, 'open');
  const type = select('type', typeChoices, 'normal');
  main.replaceChildren(h('h1', {}, 'Rooms'),
    table([['node', 'Address'], ['name', 'Name'], ['category', 'Category'], ['privacy', 'Privacy', true],
      ['messages', 'Messages', true], ['disabled', 'State']], rooms, (r, key) => {
      if (key === 'node') return h('a', { href: '#/room/' + encodeURIComponent(r.node) }, r.node);
      if (key === 'disabled') return r.disabled ? 'disabled' : 'active';
      return String(r[key]);
    }),
    form('create-room', 'Create a room', [h('div', { class: 'grid' },
      field('Address', node, 'The part before @ in the room address.'), field('Name', name),
      field('Category', category), field('Privacy', privacy), field('Type', type))], 'Create room', async () => {
      await api('POST', '/rooms', { node: node.value, name: name.value, category: category.value, privacy: privacy.value, type: type.value });
      say(`Room ${node.value} created.`);
      location.hash = '#/room/' + encodeURIComponent(node.value.toLowerCase());
    }));
}

async function showRoom(node) {
  const path = '/rooms/' + encodeURIComponent(node);
  const [room, eligible, addins] = await Promise.all([api('GET', path), api('GET', path + '/eligible'), api('GET', '/addins')]);
  const addin = select('addin', [['', 'None'], ...addins.map((a) => [a.name, a.name])], room.addin);
  const name = text('name', { value: room.name, maxlength: '256' });
  const description = h('textarea', { name: 'description', rows: '2' }, room.description);
  const privacy = select('privacy', privacyChoices, room.privacy);
  const type = select('type', typeChoices, room.type);
  const [disabled, disabledLabel] = checkbox('Disabled (nobody joins; history kept)', room.disabled);
  const lists = ['members', 'managers', 'presenters', 'denied'].map((list) => {
    const who = text('principal', { required: true, placeholder: 'user:NAME, group:NAME or everyone' });
    return h('section', { class: 'card', id: 'list-' + list, 'aria-labelledby': 'h-' + list },
      h('h3', { id: 'h-' + list }, list[0].toUpperCase() + list.slice(1)),
      room[list].length ? h('ul', { class: 'people' }, room[list].map((p) => h('li', {}, p,
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${p} from ${list}`,
          onclick: () => act(`${p} removed from ${list}.`, () => api('DELETE', `${path}/${list}/${encodeURIComponent(p)}`)) }, 'Remove'))))
        : h('p', {}, 'Nobody.'),
      form('add-' + list, `Add to ${list}`, [field(`Add to ${list}`, who)], 'Add', async () => {
        const p = who.value.includes(':') || who.value === 'everyone' ? who.value : 'user:' + who.value;
        await api('PUT', `${path}/${list}/${encodeURIComponent(p)}`);
        say(`${p} added to ${list}.`);
        await route();
      }));
  });
  const messageId = text('message', { required: true });
  const reason = text('reason');
  main.replaceChildren(
    h('p', {}, h('a', { href: '#/rooms' }, '← All rooms')),
    h('h1', {}, room.name),
    h('p', {}, `${room.address} · ${room.category} · ${room.occupants} in the room now · ${room.messages} messages`),
    form('room-settings', 'Settings', [h('div', { class: 'grid' }, field('Name', name), field('Privacy', privacy), field('Type', type)),
      field('Description', description), field('Add-in', addin, 'A web pane the room shows (registered under Settings).'), disabledLabel], 'Save settings', async () => {
      await api('PATCH', path, { name: name.value, description: description.value, privacy: privacy.value, type: type.value,
        addin: addin.value, disabled: disabled.checked });
      say('Settings saved.');
      await route();
    }),
    h('h2', {}, 'Who may do what'), ...lists,
    h('section', { class: 'card', id: 'eligible', 'aria-labelledby': 'h-eligible' }, h('h3', { id: 'h-eligible' }, 'Eligible users'),
      h('p', {}, 'Everyone these rules let in, by the room\'s lists and its category\'s (groups counted).'),
      h('dl', {}, ...[['join', 'May join'], ['post', 'May post'], ['configure', 'May manage']].flatMap(([key, label]) => [
        h('dt', {}, label),
        h('dd', {}, (eligible[key].users.join(', ') || 'Nobody') + (eligible[key].more ? ', and more' : ''))]))),
    removeByFilter(path),
    form('remove-message', 'Remove a message', [h('p', {}, 'For everybody, keeping a notice in its place. The id is the message\'s stable id (from the archive or the compliance record).'),
      field('Message id', messageId), field('Reason', reason)], 'Remove message', async () => {
      await api('DELETE', `${path}/messages/${encodeURIComponent(messageId.value)}`, { reason: reason.value });
      say('Message removed.');
      messageId.value = '';
    }),
    h('section', { class: 'card' }, h('h2', {}, 'Delete the room'),
      h('p', {}, 'Its history goes with it; its occupants are told.'),
      h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!confirm(`Delete ${room.node} and its whole history?`)) return;
        try {
          await api('DELETE', path, {});
          say(`Room ${room.node} deleted.`);
          location.hash = '#/rooms';
        } catch (e) { say(e.message, 'error'); }
      } }, 'Delete room')));
}

// Messages by a filter: a dry run shows what matches, then they go (or are replaced).
function removeByFilter(path) {
  const keywords = text('keywords');
  const match = select('match', [['any', 'Any of the words'], ['all', 'All of the words'], ['exact', 'The exact phrase']], 'any');
  const [caseSensitive, caseLabel] = checkbox('Match case', false);
  const sender = text('sender', { placeholder: 'user name' });
  const from = h('input', { type: 'datetime-local', name: 'from' });
  const to = h('input', { type: 'datetime-local', name: 'to' });
  const replaceWith = text('replace_with', { placeholder: 'leave empty to remove' });
  const result = h('p', { role: 'status' });
  const utc = (input) => input.value ? new Date(input.value).toISOString().replace(/\.\d+Z$/, 'Z') : undefined;
  const filter = (dryRun) => ({ keywords: keywords.value || undefined, match: match.value, case_sensitive: caseSensitive.checked,
    sender: sender.value || undefined, from: utc(from), to: utc(to), replace_with: replaceWith.value || undefined, dry_run: dryRun });
  const run = async (dryRun) => {
    const done = await api('POST', path + '/messages/remove', filter(dryRun));
    result.textContent = dryRun ? `${done.matched}${done.more ? '+' : ''} messages match.`
      : `${done.removed} messages ${replaceWith.value ? 'replaced' : 'removed'}${done.more ? '; more match: run it again' : ''}.`;
  };
  const f = form('remove-by-filter', 'Remove messages by filter', [
    h('p', {}, 'Words in the text, a sender, a time range: at least one. Each message goes for everybody, as a moderator\'s removal.'),
    h('div', { class: 'grid' }, field('Words', keywords), field('Match', match), field('Sender', sender),
      field('From', from), field('To', to), field('Replace with', replaceWith, 'Text left in their place.')),
    caseLabel, result], 'Remove matching messages', async () => {
    if (!confirm('Remove every matching message for everybody?')) return;
    await run(false);
  });
  f.insertBefore(h('button', { type: 'button', class: 'secondary', onclick: () => run(true).catch((e) => say(e.message, 'error')) },
    'Count matches'), f.lastChild);
  return f;
}

// Categories ---------------------------------------------------------------------------------

async function showCategories() {
  const categories = await api('GET', '/categories');
  const name = text('name', { required: true });
  const description = text('description');
  const allowed = text('allowed', { placeholder: 'everyone' });
  const creators = text('creators');
  const [noUpload, noUploadLabel] = checkbox('No file upload in its rooms', false);
  const list = (v) => v.split(',').map((s) => s.trim()).filter(Boolean)
    .map((p) => p.includes(':') || p === 'everyone' ? p : 'user:' + p);
  main.replaceChildren(h('h1', {}, 'Categories'),
    table([['name', 'Name'], ['allowed', 'Allowed'], ['denied', 'Denied', true], ['creators', 'Creators'],
      ['file_upload', 'File upload', true], ['invitations', 'Invitations', true], ['chat_history', 'History', true], ['actions', '']], categories, (c, key) => {
      if (key === 'actions') return h('span', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': `Who is eligible for ${c.name}`,
        onclick: async () => {
          try {
            const who = await api('GET', `/categories/${encodeURIComponent(c.name)}/eligible`);
            const list = (x) => (x.users.join(', ') || 'nobody') + (x.more ? ', and more' : '');
            say(`${c.name} — may join its rooms: ${list(who.members)}; may create rooms: ${list(who.creators)}.`);
          } catch (e) { say(e.message, 'error'); }
        } }, 'Eligible'), ' ', h('button', { type: 'button', class: 'secondary', 'aria-label': `Delete category ${c.name}`,
        onclick: () => { if (confirm(`Delete category ${c.name}? (Only an empty one goes.)`)) act(`Category ${c.name} deleted.`, () => api('DELETE', '/categories/' + encodeURIComponent(c.name))); } }, 'Delete'));
      if (['file_upload', 'invitations', 'chat_history'].includes(key))
        return h('button', { type: 'button', class: 'secondary', 'aria-pressed': String(c[key]), 'aria-label': `${key.replace('_', ' ')} in ${c.name}: ${c[key] ? 'on' : 'off'}`,
          onclick: () => act(`${c.name}: ${key.replace('_', ' ')} ${c[key] ? 'off' : 'on'}.`, () => api('PATCH', '/categories/' + encodeURIComponent(c.name), { [key]: !c[key] })) }, c[key] ? 'on' : 'off');
      return Array.isArray(c[key]) ? c[key].join(', ') : String(c[key]);
    }),
    form('create-category', 'Create a category', [h('div', { class: 'grid' }, field('Name', name), field('Description', description),
      field('Allowed', allowed, 'Comma-separated: user:NAME, group:NAME or everyone (the default).'),
      field('Creators', creators, 'Who may create rooms in it.')), noUploadLabel], 'Create category', async () => {
      await api('POST', '/categories', { name: name.value, description: description.value, allowed: list(allowed.value),
        creators: list(creators.value), file_upload: !noUpload.checked });
      say(`Category ${name.value} created.`);
      await route();
    }));
}

// Users, sessions, accounts, compliance --------------------------------------------------------

async function showUsers() {
  const page = await api('GET', '/users');
  const name = text('name', { required: true });
  const display = text('display_name');
  main.replaceChildren(h('h1', {}, 'Users'),
    table([['name', 'Name'], ['display_name', 'Display name', true], ['state', 'State'], ['action', 'Action']],
      page.users, (u, key) => {
        if (key === 'state') return u.disabled ? 'disabled' : 'active';
        if (key === 'action') return h('button', { type: 'button', class: 'secondary',
          'aria-label': `${u.disabled ? 'Enable' : 'Disable'} ${u.name}`,
          onclick: () => act(`${u.name} ${u.disabled ? 'enabled' : 'disabled'}.`,
            () => api('PATCH', '/users/' + encodeURIComponent(u.name), { disabled: !u.disabled })) }, u.disabled ? 'Enable' : 'Disable');
        return String(u[key]);
      }),
    page.more ? h('p', {}, 'More users than shown: use perch admin user list --prefix.') : null,
    form('create-user', 'Create a user', [h('div', { class: 'grid' }, field('User name', name), field('Display name', display))], 'Create user', async () => {
      const made = await api('POST', '/users', { name: name.value, display_name: display.value });
      await route();
      say(`User ${made.name} created with password ${made.password}: give it to them once.`);
    }));
}

async function showGroups() {
  const [groups, policies] = await Promise.all([api('GET', '/groups'), api('GET', '/policy')]);
  const name = text('name', { required: true });
  const description = text('description');
  const group = select('group', groups.map((g) => [g.name, g.name]), groups[0] && groups[0].name);
  const user = text('user', { required: true });
  const scope = text('scope', { required: true, placeholder: 'global, group:NAME or user:NAME' });
  const state = select('state', [['off', 'Off'], ['on', 'On'], ['unset', 'Unset']], 'off');
  const chat = { on: true, off: false, unset: null };
  main.replaceChildren(h('h1', {}, 'Groups and policy'),
    table([['name', 'Group'], ['description', 'Description', true], ['members', 'Members']], groups,
      (g, key) => Array.isArray(g[key]) ? g[key].join(', ') : String(g[key])),
    form('create-group', 'Create a group', [h('div', { class: 'grid' }, field('Group name', name), field('Description', description))], 'Create group', async () => {
      await api('POST', '/groups', { name: name.value, description: description.value });
      say(`Group ${name.value} created.`);
      await route();
    }),
    groups.length ? form('join-group', 'Add a user to a group', [h('div', { class: 'grid' }, field('Group', group), field('User', user))], 'Add to group', async () => {
      await api('PUT', `/groups/${encodeURIComponent(group.value)}/members/${encodeURIComponent(user.value)}`);
      say(`${user.value} added to ${group.value}.`);
      await route();
    }) : null,
    h('h2', {}, 'Persistent chat policy'),
    policies.length ? table([['scope', 'Scope'], ['chat', 'Persistent chat']], policies,
      (p, key) => key === 'chat' ? (p.chat ? 'on' : 'off') : p.scope) : h('p', {}, 'Nothing set: on for everybody.'),
    form('set-policy', 'Set a policy', [h('div', { class: 'grid' }, field('Scope', scope), field('Persistent chat', state))], 'Set policy', async () => {
      await api('PUT', '/policy/' + encodeURIComponent(scope.value), { chat: chat[state.value] });
      say(`Policy for ${scope.value} set (from each user's next sign-in).`);
      await route();
    }));
}

async function showSessions() {
  const answer = await api('GET', '/sessions');
  const sessions = answer.sessions;
  const pooled = sessions.some((s) => s.server !== undefined);
  const columns = [['jid', 'Address'], ...(pooled ? [['server', 'Server']] : []), ['connected', 'Connected'], ['action', 'Action']];
  const notes = [];
  if (answer.unanswered.length) notes.push(h('p', { class: 'error' }, `Not answered in time: ${answer.unanswered.join(', ')}.`));
  if (answer.more) notes.push(h('p', {}, 'More sessions than shown.'));
  main.replaceChildren(h('h1', {}, 'Sessions'), ...notes,
    sessions.length ? table(columns, sessions, (s, key) => {
      if (key === 'action') {
        const user = s.jid.split('@')[0];
        return h('button', { type: 'button', class: 'secondary', 'aria-label': `Disconnect ${user}`,
          onclick: () => act(`${user} disconnected.`, () => api('DELETE', '/sessions/' + encodeURIComponent(user))) }, 'Disconnect');
      }
      return String(s[key]);
    }) : h('p', {}, 'Nobody is connected.'));
}

async function showAccounts() {
  const accounts = await api('GET', '/accounts');
  const name = text('name', { required: true });
  const role = select('role', [['read-only', 'Read-only'], ['compliance-officer', 'Compliance officer'], ['administrator', 'Administrator']], 'read-only');
  main.replaceChildren(h('h1', {}, 'Admin accounts'),
    table([['name', 'Name'], ['role', 'Role'], ['disabled', 'State']], accounts,
      (a, key) => key === 'disabled' ? (a.disabled ? 'disabled' : 'active') : String(a[key])),
    form('create-account', 'Create an admin account', [h('div', { class: 'grid' }, field('Account name', name), field('Role', role))], 'Create account', async () => {
      const made = await api('POST', '/accounts', { name: name.value, role: role.value });
      await route();
      say(`Account ${made.name} created with password ${made.password}: give it to its owner once.`);
    }));
}

async function showSettings() {
  const [settings, addins] = await Promise.all([api('GET', '/settings'), api('GET', '/addins')]);
  const rows = settings.map((s) => {
    const input = s.min !== undefined
      ? h('input', { type: 'number', name: s.name, min: String(s.min), max: String(s.max), value: s.value, required: true })
      : h('input', { type: 'url', name: s.name, value: s.value, placeholder: 'this server\'s room pages' });
    return form('setting-' + s.name, s.name.replaceAll('_', ' '), [field(s.description, input,
      `From the configuration file: ${s.file_value || '(empty)'}${s.set_here ? ' · set here, wins over the file' : ''}`),
      ...(s.set_here ? [h('button', { type: 'button', class: 'secondary', onclick: () => act(`${s.name} back to the file's value.`,
        () => api('DELETE', '/settings/' + s.name)) }, 'Back to the file\'s value')] : [])], 'Save', () =>
      act(`${s.name} saved: in force on every server now.`, () => api('PUT', '/settings/' + s.name, { value: input.value })));
  });
  const importFile = h('input', { type: 'file', name: 'archive', required: true, accept: '.tar,application/x-tar' });
  const addinName = text('name', { required: true, maxlength: '64' });
  const addinUrl = h('input', { type: 'url', name: 'url', required: true, placeholder: 'https://' });
  main.replaceChildren(h('h1', {}, 'Settings'),
    h('p', {}, 'For every server of the pool, at once; each wins over the configuration file until set back.'),
    h('div', { class: 'grid' }, ...rows),
    h('h2', {}, 'Add-ins'),
    addins.length ? table([['name', 'Name'], ['url', 'Page'], ['rooms', 'Shown by'], ['remove', '']], addins, (a, key) => {
      if (key === 'rooms') return a.rooms.join(', ') || '—';
      if (key === 'remove') return h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove add-in ${a.name}`,
        onclick: () => act(`Add-in ${a.name} removed.`, () => api('DELETE', '/addins/' + encodeURIComponent(a.name))) }, 'Remove');
      return a[key];
    }) : h('p', {}, 'None yet.'),
    h('section', { class: 'card', id: 'data-export' }, h('h2', {}, 'All the data'),
      h('p', {}, 'Users (with their credentials), rooms, history, files, settings: a tar archive for `perch data import` on a new machine.'),
      h('button', { type: 'button', onclick: async () => {
        try {
          await download('/data/export', {}, 'perch-export.tar');
          say('Data exported.');
        } catch (e) { say(e.message, 'error'); }
      } }, 'Export all the data')),
    form('data-import', 'Import all the data', [field('Archive', importFile,
      'An export (perch-export.tar) into this server, whose database must be new: it may hold admin accounts, nothing else. All or nothing.')],
    'Import', async () => {
      const answer = await api('POST', '/data/import', importFile.files[0]);
      const counts = Object.entries(answer.imported).map(([part, n]) => `${n} ${part}`).join(', ');
      say(`Imported: ${counts}.`);
    }),
    form('add-addin', 'Register an add-in', [h('div', { class: 'grid' }, field('Name', addinName), field('Page', addinUrl,
      'The web page rooms show beside the conversation.'))], 'Register', () =>
      act(`Add-in ${addinName.value} registered.`, () => api('PUT', '/addins/' + encodeURIComponent(addinName.value), { url: addinUrl.value }))));
}

// The compliance service's settings, for every server; each saved at once.
function complianceSettings(settings) {
  const numbers = { run_interval_s: ['Exports every (seconds)', 60, 2592000], retention_days: ['Forget exported events after (days; 0 keeps them)', 0, 36500] };
  const flags = { xml: 'XML export', jsonl: 'JSON lines export', one_room_per_file: 'One XML file per room',
    user_details: 'User details (display name, e-mail)', room_details: 'Room details (category)', file_manifest: 'Manifest of uploaded files' };
  const inputs = {};
  const fields = [];
  for (const [name, [label, min, max]] of Object.entries(numbers)) {
    inputs[name] = h('input', { type: 'number', name, min: String(min), max: String(max), value: settings[name], required: true });
    fields.push(field(label, inputs[name]));
  }
  const checks = Object.entries(flags).map(([name, label]) => {
    const [box, labelled] = checkbox(label, settings[name] === 'true');
    inputs[name] = box;
    return labelled;
  });
  return form('compliance-settings', 'Settings', [h('div', { class: 'grid' }, ...fields), ...checks], 'Save settings', () =>
    act('Compliance settings saved: in force on every server.', () => api('PATCH', '/compliance/settings',
      Object.fromEntries(Object.entries(inputs).map(([name, input]) =>
        [name, input.type === 'checkbox' ? input.checked : Number(input.value)])))));
}

// A selection of events downloaded, with the chain's head signed (kept beside the export).
function complianceExport() {
  const format = select('format', [['xml', 'XML (the original adapter\'s shape)'], ['jsonl', 'JSON lines']], 'xml');
  const room = text('room');
  const user = text('user');
  return form('compliance-export', 'Export events', [h('div', { class: 'grid' }, field('Format', format),
    field('Room', room, 'Only this room\'s events (empty: all).'), field('User', user, 'Only this user\'s events.'))], 'Download', async () => {
    const headers = await download('/compliance/export', { format: format.value, room: room.value || undefined, user: user.value || undefined },
      'compliance.' + format.value);
    const checkpoint = headers.get('X-Perch-Checkpoint');
    if (checkpoint) {
      const url = URL.createObjectURL(new Blob([checkpoint + '\n'], { type: 'application/json' }));
      const link = h('a', { href: url, download: `compliance.${format.value}.checkpoint.json` });
      document.body.append(link);
      link.click();
      link.remove();
    }
    say(`${headers.get('X-Perch-Events')} events exported; keep the checkpoint file with them.`);
  });
}

async function showCompliance() {
  const state = await api('GET', '/compliance');
  const parts = [h('h1', {}, 'Compliance')];
  if (!state.enabled) {
    parts.push(h('p', {}, 'Compliance is off on this server (compliance.enabled in its configuration).'));
  } else {
    parts.push(h('dl', { class: 'figures' },
      ...[['Healthy', state.healthy ? 'yes' : 'NO'], ['Backlog', state.backlog + (state.backlog_more ? '+' : '')],
        ['When it fails', state.on_failure], ['Exports every', state.run_interval_s + ' s']]
        .map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, String(v))))),
    complianceSettings(state.settings),
    complianceExport(),
    h('button', { type: 'button', onclick: async () => {
      try {
        const r = await api('POST', '/compliance/verify', {});
        say(r.ok ? `The record is intact: ${r.checked} events, ${r.checkpoints} checkpoint signatures held.`
          : `The record is BROKEN at event ${r.broken_at}: ${r.reason}`, r.ok ? 'ok' : 'error');
      } catch (e) { say(e.message, 'error'); }
    } }, 'Verify the record'));
  }
  main.replaceChildren(...parts);
}

// Routing ------------------------------------------------------------------------------------

async function route() {
  if (!token()) return showSignIn();
  nav.hidden = false;
  who.textContent = sessionStorage.getItem('perch-admin-who') || '';
  const hash = location.hash || '#/';
  for (const a of nav.querySelectorAll('a')) {
    const here = a.getAttribute('href') === hash || (hash.startsWith('#/room/') && a.getAttribute('href') === '#/rooms');
    if (here) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  if (hash !== '#/') clearInterval(refreshTimer);
  try {
    if (hash === '#/') await showDashboard();
    else if (hash === '#/rooms') await showRooms();
    else if (hash.startsWith('#/room/')) await showRoom(decodeURIComponent(hash.slice(7)));
    else if (hash === '#/categories') await showCategories();
    else if (hash === '#/users') await showUsers();
    else if (hash === '#/groups') await showGroups();
    else if (hash === '#/sessions') await showSessions();
    else if (hash === '#/accounts') await showAccounts();
    else if (hash === '#/compliance') await showCompliance();
    else if (hash === '#/settings') await showSettings();
    else main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Dashboard')));
  } catch (e) {
    if (e.status !== 401) main.replaceChildren(h('h1', {}, 'Cannot show this page'), h('p', { role: 'alert' }, e.message));
  }
}

document.getElementById('sign-out').addEventListener('click', async () => {
  try { await api('DELETE', '/session'); } catch (e) { /* signed out anyway */ }
  sessionStorage.clear();
  say('Signed out.');
  showSignIn();
});
window.addEventListener('hashchange', () => { route(); main.focus(); });
route();
