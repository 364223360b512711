// Drives the policy playground in Debian's Chromium through playwright-core, as a person
// would: load the served policy, run each sample call, load a broken policy folder, and
// take a screenshot. It prints what the page shows as JSON lines for the Rust test
// (host-harness/tests/playground.rs) to compare with `e911-harness run --json`; it
// judges nothing itself beyond "the page got there".
//
// Usage: node playground.mjs CONFIG.json
//   { url, tools, chromium, userDataDir, screenshot, now, calls: [{file, peer}],
//     brokenPolicy, screenshotCall }

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
// playwright-core lives under target/tools/node (installed by cargo xtask setup).
const require = createRequire(`${config.tools}/node/`);
const { chromium } = require('playwright-core');

const emit = (event) => console.log(JSON.stringify(event));
const TIMEOUT = 60_000;

const context = await chromium.launchPersistentContext(config.userDataDir, {
  executablePath: config.chromium,
  headless: true,
  viewport: { width: 1500, height: 1000 },
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
const errors = [];
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });

  await page.goto(config.url);
  await page.waitForSelector('body[data-ready="true"]');
  emit({ event: 'loaded', status: await page.textContent('#status'), revision: await page.getAttribute('#status', 'data-revision') });

  let decisions = 0;
  const decide = async (file, peer) => {
    await page.selectOption('#sample', file);
    await page.waitForSelector(`#sample[data-loaded="${file}"]`);
    await page.fill('#peer', peer);
    await page.fill('#now', config.now);
    await page.click('#decide');
    decisions += 1;
    await page.waitForSelector(`#verdict[data-decisions="${decisions}"]`);
    const shown = {};
    for (const name of ['kind', 'erl', 'address', 'element', 'policy', 'route', 'elin', 'degraded']) {
      shown[name] = await page.textContent(`#verdict [data-field="${name}"]`);
    }
    shown.route_id = await page.getAttribute('#verdict [data-field="route"]', 'data-id');
    return {
      shown,
      trace: await page.$$eval('#trace li', (items) => items.map((li) => li.textContent)),
      forwarded: await page.getAttribute('#forwarded', 'data-message'),
      highlighted: await page.$$eval('#forwarded .added, #forwarded .removed', (s) => s.length),
      pidf: await page.textContent('#pidf'),
      error: await page.textContent('#call-error'),
    };
  };

  for (const call of config.calls) {
    emit({ event: 'call', file: call.file, ...(await decide(call.file, call.peer)) });
  }

  // The same calls again through "Run every sample", from a fresh callback store.
  await page.click('#forget');
  await page.click('#run-all');
  await page.waitForSelector('#all-samples tbody[data-runs="1"]');
  emit({
    event: 'every_sample',
    rows: await page.$$eval('#all-samples tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent))),
  });

  const coverage = await page.$$eval('#coverage tbody tr', (rows) => rows.map((r) => ({
    erl: r.dataset.erl,
    reached_by: [...r.querySelectorAll('td:nth-child(4) li')].map((li) => li.textContent),
    flags: [...r.querySelectorAll('.flag')].map((f) => f.textContent),
  })));
  emit({ event: 'coverage', rows: coverage });

  // The main view with a rich decision on it, as the README shows it.
  await decide(config.screenshotCall.file, config.screenshotCall.peer);
  await page.screenshot({ path: config.screenshot });
  emit({ event: 'screenshot', path: config.screenshot });

  // A folder with a broken CSV row: the page must name file and line, and keep the last
  // good policy in force.
  const compiles = Number(await page.getAttribute('body', 'data-compiles'));
  await page.setInputFiles('#pick-folder', config.brokenPolicy);
  await page.waitForSelector(`body[data-compiles="${compiles + 1}"]`);
  emit({
    event: 'broken',
    problems: await page.$$eval('#problems li', (items) => items.map((li) => li.textContent)),
    result: await page.textContent('#compile-result'),
    status: await page.textContent('#status'),
    after: await decide(config.calls[0].file, config.calls[0].peer),
  });
  // Fix the row in the page's editor and compile again: the new sources take over.
  await page.click('#file-tabs button[data-file="wireless.csv"]');
  const text = await page.inputValue('#editor');
  await page.fill('#editor', text.replace('00-11-22,', '00-11-22-33-44-55,'));
  await page.click('#compile');
  await page.waitForSelector(`body[data-compiles="${compiles + 2}"]`);
  emit({
    event: 'fixed',
    problems: await page.$$eval('#problems li', (items) => items.map((li) => li.textContent)),
    result: await page.textContent('#compile-result'),
  });
  // Drop the served policy's files on the page, as from a file manager.
  const drop = await page.evaluateHandle(async () => {
    const index = await (await fetch('policy/index.json')).json();
    const transfer = new DataTransfer();
    for (const name of index.files) {
      const bytes = await (await fetch(`policy/${name}`)).arrayBuffer();
      transfer.items.add(new File([bytes], name));
    }
    return transfer;
  });
  await page.dispatchEvent('#drop', 'drop', { dataTransfer: drop });
  await page.waitForSelector(`body[data-compiles="${compiles + 3}"]`);
  emit({
    event: 'dropped',
    files: await page.$$eval('#file-tabs button', (tabs) => tabs.map((t) => t.dataset.file)),
    result: await page.textContent('#compile-result'),
  });
  emit({ event: 'done', errors });
} finally {
  await context.close();
}
