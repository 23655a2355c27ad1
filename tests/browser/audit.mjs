// The audit log in headless Chromium: signs in as the demo Admin agent, opens the log from
// the navigation, filters it by action with the keyboard-reachable select, shows a
// mistyped day again with its message, and checks the page on a 390 px phone; each state
// gets a screenshot and an axe-core check (WCAG 2.2 A and AA).
// Usage: node audit.mjs <portal-url> <screenshot-dir>

import { adminWalk } from './admin_walk.mjs';

await adminWalk('audit', async (page, { base, check, expect }) => {
  expect(await page.getByRole('link', { name: 'Export these customers (CSV)' }).count() === 1, 'the export link on the list');
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.waitForURL(/\/audit$/);
  expect(await page.locator('nav[aria-label="Main"] a[aria-current="page"]').textContent() === 'Audit log', 'the menu marks the page');
  expect(await page.locator('tr[data-action="sign_in"]').count() >= 1, 'the sign-in is in the log');
  await check(page, 'audit log');

  await page.getByLabel('Action').selectOption('sign_in');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(/action=sign_in/);
  expect(await page.locator('tr[data-entry]').count() === await page.locator('tr[data-action="sign_in"]').count(), 'only sign-ins');
  await check(page, 'audit log filtered');

  await page.goto(`${base}/audit?from=5%2F1%2F2026&customer=Northwind`);
  expect(await page.locator('.error-summary').count() === 1, 'the mistyped day is listed at the top');
  expect(await page.evaluate(() => document.activeElement.classList.contains('error-summary')), 'the summary has the focus');
  expect((await page.getByLabel('Customer').inputValue()) === 'Northwind', 'the other filters are kept');
  await check(page, 'audit log with a mistyped day');

  await page.goto(`${base}/audit`);
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 1, `the audit log at 390px is ${overflow}px wider than the screen`);
  await check(page, 'audit log at 390px');
  await page.setViewportSize({ width: 1280, height: 900 });
});
