// The invitation wording settings in headless Chromium: signs in as the demo Admin agent,
// opens the settings from the navigation, previews a wording without its link (the
// messages and the preview), adds a language, and opens a removal's confirmation; each
// page gets a screenshot and an axe-core check (WCAG 2.2 A and AA).
// Usage: node wording.mjs <portal-url> <screenshot-dir>

import { adminWalk } from './admin_walk.mjs';

await adminWalk('wording', async (page, { base, check, expect }) => {
  await page.getByRole('link', { name: 'Invitation wording' }).click();
  await page.waitForURL(/\/settings\/invitations$/);
  expect(await page.getByText('Built-in wording', { exact: true }).count() === 3, 'English lists three kinds on the built-in wording');
  await check(page, 'wording overview');

  await page.getByRole('link', { name: /Edit Accept the MCA in the Microsoft 365 admin center in English/ }).click();
  await page.waitForURL(/\/settings\/invitations\/admin_center\/en$/);
  await check(page, 'wording edit');
  await page.getByLabel('Body', { exact: true }).fill('Hello {contact_first_name}, no link here.');
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.waitForLoadState();
  expect(await page.locator('.error-summary').count() === 1, 'the preview lists the problem at the top');
  expect((await page.getByLabel('Body', { exact: true }).inputValue()).includes('no link here'), 'the typed body is kept');
  expect((await page.getByLabel('Body, filled in').inputValue()).includes('Hello Avery'), 'the preview is filled in');
  await check(page, 'wording preview with a problem');

  await page.goto(`${base}/settings/invitations`);
  await page.getByLabel('Language', { exact: true }).selectOption('de');
  await page.getByRole('button', { name: 'Add' }).click();
  await page.waitForURL(/\/settings\/invitations\/admin_center\/de$/);
  await page.getByLabel('Subject').fill('Bitte akzeptieren: {company_name}');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/settings\/invitations$/);
  expect(await page.getByRole('heading', { name: 'German' }).count() === 1, 'German is listed after its first save');
  await page.getByRole('link', { name: 'Remove German' }).click();
  await check(page, 'wording remove confirmation');
  await page.getByRole('button', { name: 'Remove German' }).click();
  await page.waitForURL(/\/settings\/invitations$/);
  expect(await page.getByRole('heading', { name: 'German' }).count() === 0, 'German is gone after confirming');
});
