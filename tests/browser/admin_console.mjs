// Browser half of test_browser.py's console test: the admin console at /admin/ on the admin
// port (HTTPS, the server's self-signed certificate) in Debian's Chromium: sign in, create a
// category and a room in it, add a member, remove a message, read the dashboard; desktop and
// phone screenshots. Prints "STEP x" when a step is done; waits for "message ID" on stdin.
// Usage: node admin_console.mjs BASE_URL ARTIFACTS_DIR
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const [base, artifacts] = process.argv.slice(2);
fs.mkdirSync(artifacts, { recursive: true });
const input = readline.createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
const step = (name) => console.log('STEP ' + name);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
async function newPage(width, height) {
  const context = await browser.newContext({ viewport: { width, height }, ignoreHTTPSErrors: true, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  // (The browser reports every refused request, the wrong password's and the import into a
  // database in use too: those are expected.)
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|409)/.test(m.text())) problems.push('console: ' + m.text());
  });
  page.on('response', (r) => { if (r.status() >= 500) problems.push(`HTTP ${r.status()} for ${r.url()}`); });
  return page;
}
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name + '.png'), fullPage: true });
const status = (page) => page.locator('#status');

try {
  const page = await newPage(1280, 800);
  await page.goto(base + '/admin/');
  // Wrong password first: told so, still on the sign-in form.
  await page.getByLabel('Account').fill('root');
  await page.getByLabel('Password').fill('not-it');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await status(page).filter({ hasText: 'Wrong admin account name or password' }).waitFor();
  await page.getByLabel('Password').fill('root-password-1');
  await shot(page, 'admin-sign-in');
  // The keyboard alone signs in.
  await page.getByLabel('Password').press('Enter');
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();

  // A category, then a room in it.
  await page.getByRole('link', { name: 'Categories' }).click();
  const category = page.locator('#create-category');
  await category.getByLabel('Name', { exact: true }).fill('Research');
  await category.getByLabel('Allowed').fill('user:alice, user:bob');
  await category.getByRole('button', { name: 'Create category' }).click();
  await page.getByRole('cell', { name: 'Research', exact: true }).waitFor();
  // A switch turned off, and back on.
  await page.getByRole('button', { name: 'invitations in Research: on' }).click();
  await page.getByRole('button', { name: 'invitations in Research: off' }).click();
  await page.getByRole('button', { name: 'invitations in Research: on' }).waitFor();
  await page.getByRole('button', { name: 'Who is eligible for Research' }).click();
  await status(page).filter({ hasText: 'may join its rooms: alice, bob' }).waitFor();
  await shot(page, 'admin-categories');
  await page.getByRole('link', { name: 'Rooms' }).click();
  const create = page.locator('#create-room');
  await create.getByLabel('Address').fill('lab');
  await create.getByLabel('Name', { exact: true }).fill('The lab');
  await create.getByLabel('Category').selectOption('Research');
  await create.getByLabel('Privacy').selectOption('closed');
  await create.getByRole('button', { name: 'Create room' }).click();
  await page.getByRole('heading', { name: 'The lab' }).waitFor();
  // A member.
  await page.getByLabel('Add to members').fill('alice');
  await page.locator('#add-members').getByRole('button', { name: 'Add' }).click();
  await page.locator('#list-members li', { hasText: 'user:alice' }).waitFor();
  await shot(page, 'admin-room');
  step('room-ready');

  // The other side posts in the room and tells the message's id: removed from here.
  const { value } = await lines.next();
  if (!value || !value.startsWith('message ')) throw new Error('expected "message ID", got ' + value);
  await page.getByLabel('Message id').fill(value.slice(8));
  await page.getByLabel('Reason').fill('off topic');
  await page.getByRole('button', { name: 'Remove message' }).click();
  await status(page).filter({ hasText: 'Message removed.' }).waitFor();
  step('message-removed');
  // Who the rules let in, and messages by a filter (counted first: the removed one is gone).
  await page.locator('#eligible dd', { hasText: 'alice' }).first().waitFor();
  const sweep = page.locator('#remove-by-filter');
  await sweep.getByLabel('Words').fill('off-topic remark');
  await sweep.getByRole('button', { name: 'Count matches' }).click();
  await sweep.getByText('0 messages match.').waitFor();

  // Settings for every server, and an add-in the room then shows.
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor();
  const limit = page.locator('#setting-max_message_chars');
  await limit.getByRole('spinbutton').fill('4000');
  await limit.getByRole('button', { name: 'Save' }).click();
  await status(page).filter({ hasText: 'max_message_chars saved' }).waitFor();
  await page.locator('#setting-max_message_chars', { hasText: 'set here' }).waitFor();
  const addin = page.locator('#add-addin');
  await addin.getByLabel('Name').fill('Lab notes');
  await addin.getByLabel('Page').fill('https://notes.example.org/lab');
  await addin.getByRole('button', { name: 'Register' }).click();
  await page.getByRole('cell', { name: 'Lab notes', exact: true }).waitFor();
  await shot(page, 'admin-settings');
  // The compliance settings, for every server.
  await page.getByRole('link', { name: 'Compliance' }).click();
  const compliance = page.locator('#compliance-settings');
  await compliance.getByLabel('Exports every (seconds)').fill('120');
  await compliance.getByLabel('User details (display name, e-mail)').check();
  await compliance.getByRole('button', { name: 'Save settings' }).click();
  await status(page).filter({ hasText: 'Compliance settings saved' }).waitFor();
  await page.locator('dl.figures', { hasText: '120 s' }).waitFor();
  await shot(page, 'admin-compliance');
  // Exports, saved by the browser.
  const [events] = await Promise.all([page.waitForEvent('download'),
    page.locator('#compliance-export').getByRole('button', { name: 'Download' }).click()]);
  if (!(await events.path())) throw new Error('no compliance export downloaded');
  await status(page).filter({ hasText: 'events exported' }).waitFor();
  await page.getByRole('link', { name: 'Settings' }).click();
  const [data] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export all the data' }).click()]);
  if (data.suggestedFilename() !== 'perch-export.tar') throw new Error('data export named ' + data.suggestedFilename());
  await status(page).filter({ hasText: 'Data exported.' }).waitFor();
  // The archive sent back: this server's database is in use, so it is refused, saying why.
  await page.locator('#data-import').getByLabel('Archive').setInputFiles(await data.path());
  await page.locator('#data-import').getByRole('button', { name: 'Import' }).click();
  await status(page).filter({ hasText: 'database is not empty' }).waitFor();
  await page.goto(base + '/admin/#/room/lab');
  // Exact: the settings page just left has "Remove add-in …" buttons, which a loose match finds
  // while the room's page is still being drawn.
  await page.getByLabel('Add-in', { exact: true }).selectOption('Lab notes');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await status(page).filter({ hasText: 'Settings saved.' }).waitFor();
  step('addin-set');

  // A group with a member, and a policy.
  await page.getByRole('link', { name: 'Groups' }).click();
  await page.locator('#create-group').getByLabel('Group name').fill('night shift');
  await page.getByRole('button', { name: 'Create group' }).click();
  await page.getByRole('cell', { name: 'night shift', exact: true }).waitFor();
  await page.locator('#join-group').getByLabel('User').fill('bob');
  await page.getByRole('button', { name: 'Add to group' }).click();
  await page.getByRole('cell', { name: 'bob', exact: true }).waitFor();
  await page.locator('#set-policy').getByLabel('Scope').fill('group:night shift');
  await page.getByRole('button', { name: 'Set policy' }).click();
  await page.getByRole('cell', { name: 'group:night shift' }).waitFor();
  await shot(page, 'admin-groups');

  // The dashboard: figures, refreshed.
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  const figures = page.getByRole('definition');
  if ((await figures.count()) < 8) throw new Error('too few figures on the dashboard');
  // Rates need two readings: this one and the sign-in's, or a refresh (every 5 s).
  await page.waitForFunction(
    () => /Posts per second\s+\d/.test(document.querySelector('dl.figures').innerText),
    null, { timeout: 20000 });
  await shot(page, 'admin-dashboard');

  // The same console on a phone.
  const phone = await newPage(390, 844);
  await phone.goto(base + '/admin/');
  await phone.getByLabel('Account').fill('root');
  await phone.getByLabel('Password').fill('root-password-1');
  await phone.getByRole('button', { name: 'Sign in' }).click();
  await phone.getByRole('heading', { name: 'Dashboard' }).waitFor();
  await shot(phone, 'admin-dashboard-phone');
  await phone.goto(base + '/admin/#/room/lab');
  await phone.getByRole('heading', { name: 'The lab' }).waitFor();
  await shot(phone, 'admin-room-phone');
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  if (overflow) throw new Error('the room page is wider than a phone');
  if (problems.length) throw new Error(problems.join('\n'));
  step('done');
} catch (e) {
  console.error(e.stack || String(e));
  process.exitCode = 1;
} finally {
  input.close();
  await browser.close();
}
