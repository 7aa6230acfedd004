// Room management pages: sign in with the chat account, list my rooms, create a room in a
// category where I create rooms, and edit a room I manage. Everything goes through the REST API
// (/api/v1, see docs/openapi.yaml); pages are built with DOM calls, never from HTML strings.

import { h } from '/static/dom.js';

const main = document.getElementById('main');
const statusLine = document.getElementById('status');
const who = document.getElementById('who');
const signOutButton = document.getElementById('sign-out');
let csrf = '';

function say(text, kind = 'ok') {
  statusLine.textContent = text;
  statusLine.className = kind;
}

async function api(method, path, body) {
  const options = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  if (method !== 'GET') options.headers['X-CSRF-Token'] = csrf;
  const response = await fetch('/api/v1' + path, options);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error((data && data.error) || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function field(label, input) {
  const id = input.id || (input.id = 'f-' + Math.random().toString(36).slice(2));
  return h('div', {}, h('label', { for: id }, label), input);
}

function select(name, options, value) {
  return h('select', { name }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

const privacyChoices = [
  ['open', 'Open — anyone allowed in the category finds and joins it'],
  ['closed', 'Closed — listed, members only'],
  ['secret', 'Secret — not listed, members only'],
];
const typeChoices = [
  ['normal', 'Normal — every member posts'],
  ['auditorium', 'Auditorium — only presenters and managers post'],
];

function showSignIn() {
  who.textContent = '';
  signOutButton.hidden = true;
  const user = h('input', { type: 'text', name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'card', id: 'sign-in' },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Use your chat account.'),
    field('User name', user),
    field('Password', password),
    h('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const session = await api('POST', '/session', { username: user.value, password: password.value });
      csrf = session.csrf_token;
      say('Signed in as ' + session.user + '.');
      route();
    } catch (e) {
      say(e.message, 'error');
      password.focus();
    }
  });
  main.replaceChildren(form);
  user.focus();
}

async function showList() {
  const [rooms, categories] = await Promise.all([api('GET', '/rooms'), api('GET', '/categories')]);
  const mine = rooms.length
    ? h('ul', { class: 'rooms' }, rooms.map((r) => h('li', {},
        h('a', { href: '#/room/' + encodeURIComponent(r.node) },
          h('strong', {}, r.name), ' ',
          h('span', { class: 'meta' }, `${r.address} · ${r.category} · ${r.privacy}${r.type === 'auditorium' ? ' · auditorium' : ''}${r.disabled ? ' · disabled' : ''}${r.my_roles.manager ? ' · you manage it' : ''}`)))))
    : h('p', {}, 'You belong to no room yet.');
  const creatable = categories.filter((c) => c.may_create);
  const parts = [h('h1', {}, 'My rooms'), mine];
  if (creatable.length) parts.push(createForm(creatable));
  main.replaceChildren(...parts);
}

function createForm(categories) {
  const address = h('input', { type: 'text', name: 'address', required: true, pattern: '[^@\\/ ]+', 'aria-describedby': 'address-help' });
  const name = h('input', { type: 'text', name: 'name', maxlength: '256' });
  const description = h('textarea', { name: 'description', rows: '2' });
  const category = select('category', categories.map((c) => [c.name, c.name]), categories[0].name);
  const privacy = select('privacy', privacyChoices, 'open');
  const type = select('type', typeChoices, 'normal');
  const form = h('form', { class: 'card', id: 'create-room' },
    h('h2', {}, 'Create a room'),
    h('div', { class: 'grid' },
      h('div', {}, field('Address', address), h('small', { id: 'address-help' }, 'The part before @ in the room address.')),
      field('Name', name),
      field('Category', category),
      field('Privacy', privacy),
      field('Type', type)),
    field('Description', description),
    h('button', { type: 'submit' }, 'Create room'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const room = await api('POST', '/rooms', {
        address: address.value.trim(), name: name.value.trim(), description: description.value,
        category: category.value, privacy: privacy.value, type: type.value,
      });
      say(`Room ${room.name} created.`);
      location.hash = '#/room/' + encodeURIComponent(room.node);
    } catch (e) {
      say(e.message, 'error');
    }
  });
  return form;
}

async function showRoom(node) {
  const room = await api('GET', '/rooms/' + encodeURIComponent(node));
  const parts = [h('p', {}, h('a', { href: '#/' }, '← My rooms')), h('h1', {}, room.name), h('p', {}, `${room.address} · ${room.category}`)];
  if (room.addin_url) parts.push(h('p', {}, 'Add-in: ', h('a', { href: room.addin_url, rel: 'noopener noreferrer', target: '_blank' }, room.addin)));
  if (!room.managers) {
    parts.push(h('p', {}, room.description || ''), h('p', {}, 'Only the room\'s managers change it.'));
    main.replaceChildren(...parts);
    return;
  }
  const name = h('input', { type: 'text', name: 'name', value: room.name, maxlength: '256', required: true });
  const description = h('textarea', { name: 'description', rows: '3' });
  description.value = room.description;
  const privacy = select('privacy', privacyChoices, room.privacy);
  const type = select('type', typeChoices, room.type);
  const invitations = h('input', { type: 'checkbox', name: 'invitations', checked: room.invitations });
  const disabled = h('input', { type: 'checkbox', name: 'disabled', checked: room.disabled });
  const changeSubject = h('input', { type: 'checkbox', name: 'occupants_change_subject',
    checked: room.occupants_change_subject });
  const addins = await api('GET', '/addins');
  const addin = select('addin', [['', 'None'], ...addins.map((a) => [a.name, a.name])], room.addin);
  const settings = h('form', { class: 'card', id: 'room-settings' },
    h('h2', {}, 'Settings'),
    h('div', { class: 'grid' }, field('Name', name), field('Privacy', privacy), field('Type', type)),
    field('Description', description),
    field('Add-in (a web pane the room shows)', addin),
    h('label', { class: 'check' }, invitations, 'Invitations allowed'),
    h('label', { class: 'check' }, changeSubject, 'Everyone who may post changes the subject (else managers only)'),
    h('label', { class: 'check' }, disabled, 'Disabled (nobody may enter; the history is kept)'),
    h('button', { type: 'submit' }, 'Save settings'));
  settings.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('PATCH', '/rooms/' + encodeURIComponent(node), {
        name: name.value.trim(), description: description.value, privacy: privacy.value,
        type: type.value, invitations: invitations.checked, disabled: disabled.checked,
        occupants_change_subject: changeSubject.checked, addin: addin.value,
      });
      say('Settings saved.');
      showRoom(node);
    } catch (e) {
      say(e.message, 'error');
    }
  });
  parts.push(settings);
  for (const [list, title, help] of [
    ['members', 'Members', 'May enter a closed or secret room.'],
    ['managers', 'Managers', 'Change the room and its lists.'],
    ['presenters', 'Presenters', 'Speak in an auditorium.'],
  ]) parts.push(listEditor(node, list, title, help, room[list]));
  main.replaceChildren(...parts);
}

function listEditor(node, list, title, help, entries) {
  const input = h('input', { type: 'text', name: 'principal', placeholder: 'user name, or group:NAME', 'aria-label': `Add to ${title.toLowerCase()}` });
  const remove = (principal) => async () => {
    try {
      await api('DELETE', `/rooms/${encodeURIComponent(node)}/${list}/${encodeURIComponent(principal)}`);
      say(`${principal} removed from ${title.toLowerCase()}.`);
      showRoom(node);
    } catch (e) {
      say(e.message, 'error');
    }
  };
  const form = h('form', { class: 'card', id: `list-${list}` },
    h('h2', {}, title), h('p', {}, help),
    entries.length
      ? h('ul', { class: 'people' }, entries.map((p) => h('li', {}, h('span', {}, p),
          h('button', { type: 'button', class: 'danger', onclick: remove(p), 'aria-label': `Remove ${p} from ${title.toLowerCase()}` }, 'Remove'))))
      : h('p', {}, 'Nobody yet.'),
    h('div', { class: 'inline' }, h('div', {}, input), h('button', { type: 'submit', class: 'secondary' }, 'Add')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let principal = input.value.trim();
    if (!principal) return;
    if (!principal.includes(':') && principal !== 'everyone') principal = 'user:' + principal;
    try {
      await api('PUT', `/rooms/${encodeURIComponent(node)}/${list}/${encodeURIComponent(principal)}`);
      say(`${principal} added to ${title.toLowerCase()}.`);
      showRoom(node);
    } catch (e) {
      say(e.message, 'error');
    }
  });
  return form;
}

async function route() {
  try {
    const session = await api('GET', '/session');
    csrf = session.csrf_token;
    who.textContent = session.user;
    signOutButton.hidden = false;
  } catch (e) {
    if (e.status === 401) return showSignIn();
    return say(e.message, 'error');
  }
  const match = location.hash.match(/^#\/room\/(.+)$/);
  try {
    if (match) await showRoom(decodeURIComponent(match[1]));
    else await showList();
  } catch (e) {
    say(e.message, 'error');
  }
}

signOutButton.addEventListener('click', async () => {
  try {
    await api('DELETE', '/session');
  } finally {
    csrf = '';
    say('Signed out.');
    showSignIn();
  }
});
window.addEventListener('hashchange', route);
route();
