// The invitation wording settings in headless Chromium: signs in as the demo Admin agent,
// opens the settings from the navigation, previews a wording without its link (the
// messages and the preview), adds a language, and opens a removal's confirmation; each
// page gets a screenshot and an axe-core check (WCAG 2.2 A and AA).
// Usage: node wording.mjs <portal-url> <screenshot-dir>

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error('usage: node wording.mjs <portal-url> <screenshot-dir>');
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
} catch (e) {
  failures.push(`wording walk failed: ${e && e.stack ? e.stack : e}`);
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log('wording walk passed');
