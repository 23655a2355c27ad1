// The API keys settings in headless Chromium: signs in as the demo Admin agent, opens
// API keys from the navigation, tries a key without a name (the message and the summary),
// creates one (shown once), opens its revocation and confirms it, and opens a blocked
// customer's readiness; each page gets a screenshot and an axe-core check (WCAG 2.2 A, AA).
// Usage: node api_keys.mjs <portal-url> <screenshot-dir>

import { adminWalk } from './admin_walk.mjs';

await adminWalk('api keys', async (page, { base, check, expect }) => {
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
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('aria-labelledby'));
  expect(focused === 'new-key-title', `the new key's section has the focus, not ${focused}`);
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
});
