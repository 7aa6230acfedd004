// Browser half of tests/interop/test_browser.py: drives Debian's Chromium with playwright-core
// through the room pages and the web chat. Talks to the Python half by lines: prints "STEP x"
// when a step is done, and waits for a line on stdin where the other side must act first.
// Usage: node web_pages.mjs BASE_URL ARTIFACTS_DIR
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const [base, artifacts] = process.argv.slice(2);
fs.mkdirSync(artifacts, { recursive: true });
const input = readline.createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
const step = (name) => console.log('STEP ' + name);
const waitFor = async (expected) => {
  const { value } = await lines.next();
  if (value !== expected) throw new Error(`expected "${expected}" from the test, got "${value}"`);
};

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
async function newPage(width = 1280, height = 800) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('response', (r) => {
    if (r.status() >= 500) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  return page;
}
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name + '.png'), fullPage: true });

try {
  // Room management: sign in, create a room, add a member.
  const rooms = await newPage();
  await rooms.goto(base + '/rooms/');
  await rooms.getByLabel('User name').fill('alice');
  await rooms.getByLabel('Password').fill('alice-pw');
  await shot(rooms, 'rooms-sign-in');
  await rooms.getByRole('button', { name: 'Sign in' }).click();
  await rooms.getByRole('heading', { name: 'My rooms' }).waitFor();
  const create = rooms.locator('#create-room');
  await create.getByLabel('Address').fill('garden');
  await create.getByLabel('Name', { exact: true }).fill('Garden club');
  await create.getByLabel('Category').selectOption('Projects');
  await create.getByLabel('Privacy').selectOption('closed');
  await create.getByLabel('Description').fill('Seeds and soil');
  await shot(rooms, 'rooms-list');
  await create.getByRole('button', { name: 'Create room' }).click();
  await rooms.getByRole('heading', { name: 'Garden club' }).waitFor();
  await rooms.getByLabel('Add to members').fill('bob');
  await rooms.locator('#list-members').getByRole('button', { name: 'Add' }).click();
  await rooms.locator('#list-members li', { hasText: 'user:bob' }).waitFor();
  await shot(rooms, 'rooms-room');
  // The same page on a phone.
  const phone = await newPage(390, 844);
  await phone.context().addCookies(await rooms.context().cookies());
  await phone.goto(base + '/rooms/#/room/garden');
  await phone.getByRole('heading', { name: 'Garden club' }).waitFor();
  await shot(phone, 'rooms-room-phone');
  step('room-ready');
  await waitFor('bob-joined');

  // Web chat: sign in, join the room, post; the slixmpp client answers.
  const chat = await newPage();
  await chat.goto(base + '/chat/');
  await chat.fill('input[name=jid]', 'alice');
  await chat.fill('input[name=password]', 'alice-pw');
  await shot(chat, 'chat-sign-in');
  await chat.click('converse-login-form [type=submit]');
  await chat.waitForSelector('.show-add-muc-modal', { state: 'attached' });
  await chat.click('#chatrooms converse-dropdown button');
  await chat.click('.show-add-muc-modal');
  await chat.fill('input[name=chatroom]', 'garden@chat.localhost');
  await chat.click('converse-add-muc-modal input[type=submit]');
  await chat.waitForSelector('.chat-textarea');
  await chat.locator('converse-muc-occupants').getByText('bob').waitFor();
  await chat.fill('.chat-textarea', 'hello from the browser');
  await chat.press('.chat-textarea', 'Enter');
  await chat.locator('.chat-msg__text', { hasText: 'hello from the browser' }).waitFor();
  step('posted');
  await waitFor('replied');
  await chat.locator('.chat-msg__text', { hasText: 'hello from slixmpp' }).waitFor();
  await shot(chat, 'chat-room');

  // Bob belongs to two rooms (garden above, orchard from the command line): he signs in to the
  // web chat and finds both open, without doing anything; his own address is not among his
  // contacts.
  const member = await newPage();
  await member.goto(base + '/chat/');
  await member.fill('input[name=jid]', 'bob');
  await member.fill('input[name=password]', 'bob-pw');
  await member.click('converse-login-form [type=submit]');
  const joined = member.locator('converse-rooms-list');
  await joined.getByText('Garden club').waitFor();
  await joined.getByText('Orchard').waitFor();
  await member.locator('converse-roster').waitFor({ state: 'attached' });
  await shot(member, 'chat-member-rooms');
  const contacts = await member.locator('converse-roster').innerText();
  if (contacts.includes('bob')) throw new Error('own address among the contacts: ' + contacts);
  if (problems.length) throw new Error(problems.join('\n'));
  step('done');
} catch (e) {
  console.error(e.stack || String(e));
  process.exitCode = 1;
} finally {
  input.close();
  await browser.close();
}
