// The audit log in headless Chromium: signs in as the demo Admin agent, opens the log from
// the navigation, filters it by action with the keyboard-reachable select, shows a
// mistyped day again with its message, and checks the page on a 390 px phone; each state
// gets a screenshot and an axe-core check (WCAG 2.2 A and AA).
// Usage: node audit.mjs <portal-url> <screenshot-dir>
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [base, outDir] = process.argv.slice(2);
if (!base || !outDir) {
  console.error('usage: node audit.mjs <portal-url> <screenshot-dir>');
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
  expect(await page.getByRole('link', { name: 'Export these customers (CSV)' }).count() === 1, 'the export link on the list');
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.waitForURL(/\/audit$/);
  expect(await page.locator('tr[data-action="sign_in"]').count() >= 1, 'the sign-in is in the log');
  await check(page, 'audit log');

  await page.getByLabel('Action').selectOption('sign_in');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(/action=sign_in/);
  expect(await page.locator('tr[data-entry]').count() === await page.locator('tr[data-action="sign_in"]').count(), 'only sign-ins');
  await check(page, 'audit log filtered');

  await page.goto(`${base}/audit?from=5%2F1%2F2026&customer=Northwind`);
  expect(await page.locator('.error-summary').count() === 1, 'the mistyped day is listed at the top');
  expect((await page.getByLabel('Customer').inputValue()) === 'Northwind', 'the other filters are kept');
  await check(page, 'audit log with a mistyped day');

  await page.goto(`${base}/audit`);
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 1, `the audit log at 390px is ${overflow}px wider than the screen`);
  await check(page, 'audit log at 390px');
  await page.setViewportSize({ width: 1280, height: 900 });
} catch (e) {
  failures.push(`audit walk failed: ${e && e.stack ? e.stack : e}`);
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log('audit walk passed');
