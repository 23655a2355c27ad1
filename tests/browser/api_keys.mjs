// The API keys settings in headless Chromium: signs in as the demo Admin agent, opens
// API keys from the navigation, tries a key without a name (the message and the summary),
// creates one (shown once), opens its revocation and confirms it, and opens a blocked
// customer's readiness; each page gets a screenshot and an axe-core check (WCAG 2.2 A, AA).
// Usage: node api_keys.mjs <portal-url> <screenshot-dir>

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error('usage: node api_keys.mjs <portal-url> <screenshot-dir>');
  process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });
const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mca-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1280, height: 900 },
});
const failures = [];
const expect = (condition, message) => { if (!condition) failures.push(message); };

async function check(page, name) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'] },
    });
    return r.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  if (violations.length > 0) failures.push(`${name}: ${JSON.stringify(violations, null, 2)}`);
  console.log(`axe ${name}: ${violations.length} violations`);
  await page.screenshot({ path: path.join(outDir, `${name.replaceAll(' ', '-')}.png`), fullPage: true });
}

try {
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.getByRole('button', { name: 'Alex Admin — Admin agent' }).click();
  await page.waitForURL(/\/customers$/);
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.waitForURL(/\/settings\/api-keys$/);
  expect(await page.getByText('no API keys yet').count() === 1, 'no keys at first');
  await check(page, 'api keys');

  await page.getByRole('button', { name: 'Create key' }).click();
  await page.waitForLoadState();
  expect(await page.locator('.error-summary').count() === 1, 'a key without a name is refused with a summary');
  expect(await page.locator('#name-error').count() === 1, 'and a message beside the field');
  await check(page, 'api keys name missing');

  await page.getByLabel('Name', { exact: true }).fill('Order system');
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.waitForLoadState();
  const key = await page.getByLabel('API key', { exact: true }).inputValue();
  expect(/^mcak_[A-Za-z0-9_-]{43}$/.test(key), `the key is shown once: ${key}`);
  await check(page, 'api key created');

  const answer = await page.request.get(`${base}/api/v1/customers?limit=1`, { headers: { Authorization: `Bearer ${key}` } });
  expect(answer.status() === 200, `the key works: ${answer.status()}`);

  await page.goto(`${base}/settings/api-keys`);
  expect(!(await page.content()).includes(key), 'the key is not shown again');
  await page.getByRole('link', { name: 'Revoke Order system' }).click();
  await page.waitForURL(/\/revoke$/);
  await check(page, 'api key revoke confirmation');
  await page.getByRole('button', { name: 'Revoke the key' }).click();
  await page.waitForURL(/\/settings\/api-keys$/);
  expect(await page.getByText(/^Revoked .* by Alex Admin$/).count() === 1, 'the key shows as revoked');
  const refused = await page.request.get(`${base}/api/v1/customers?limit=1`, { headers: { Authorization: `Bearer ${key}` } });
  expect(refused.status() === 401, `the revoked key is refused: ${refused.status()}`);

  await page.goto(`${base}/customers`);
  await page.getByRole('link', { name: 'A. Datum Labs' }).click();
  await page.waitForLoadState();
  expect(await page.getByRole('heading', { name: 'Transact readiness: Blocked' }).count() === 1, 'the account page says Blocked');
  await check(page, 'customer readiness blocked');
} catch (e) {
  failures.push(`api keys walk failed: ${e && e.stack ? e.stack : e}`);
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log('api keys walk passed');
