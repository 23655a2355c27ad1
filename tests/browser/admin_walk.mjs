// What the Admin agent's browser walks share: the command line (<portal-url>
// <screenshot-dir>), headless Chromium with a fresh profile, signing in through the
// sandbox as Alex Admin, an axe-core check (WCAG 2.2 A and AA) with a screenshot of each
// state, and the exit status. Each walk passes its steps.

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export async function adminWalk(name, steps) {
  const [base, outDir] = process.argv.slice(2);
  if (!base || !outDir) {
    console.error(`usage: node ${name}.mjs <portal-url> <screenshot-dir>`);
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
  const check = async (page, state) => {
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'] },
      });
      return r.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
    });
    if (violations.length > 0) failures.push(`${state}: ${JSON.stringify(violations, null, 2)}`);
    console.log(`axe ${state}: ${violations.length} violations`);
    await page.screenshot({ path: path.join(outDir, `${state.replaceAll(' ', '-')}.png`), fullPage: true });
  };
  try {
    const page = await context.newPage();
    // A script error is a failure on any page the walk opens.
    page.on('pageerror', (e) => failures.push(`script error on ${page.url()}: ${e.message}`));
    await page.goto(`${base}/login`);
    await page.getByRole('button', { name: 'Alex Admin — Admin agent' }).click();
    await page.waitForURL(/\/customers$/);
    await steps(page, { base, check, expect });
  } catch (e) {
    failures.push(`${name} walk failed: ${e && e.stack ? e.stack : e}`);
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    console.error(failures.join('\n'));
    process.exit(1);
  }
  console.log(`${name} walk passed`);
}
