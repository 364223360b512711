// The page's two calls timed in Chromium: compiling the contoso policy and deciding
// hq-wired-911, through the same Playground API and JSON the page uses. Run by
// plugin/web/benches/page-vs-native.sh next to the native criterion bench.
//
// Usage: node bench.mjs URL TOOLS_DIR
// Chromium coarsens performance.now() (100 µs without cross-origin isolation), so each
// sample times a batch and divides; the median of the samples is printed.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const [url, tools] = process.argv.slice(2);
const { chromium } = createRequire(`${tools}/node/`)('playwright-core');
const profile = mkdtempSync(join(tmpdir(), 'e911-bench-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  const result = await page.evaluate(async () => {
    const glue = await import('./pkg/e911_web.js');
    await glue.default();
    const index = await (await fetch('policy/index.json')).json();
    const files = await Promise.all(index.files.map(async (name) =>
      [name, new Uint8Array(await (await fetch(`policy/${name}`)).arrayBuffer())]));
    const message = new Uint8Array(await (await fetch('samples/hq-wired-911.sip')).arrayBuffer());
    const facts = JSON.stringify({ peer: '10.1.0.25', transport: 'tcp', now: '2026-11-22T10:00:00Z',
      node: 'edge-1.contoso.com', bssid: '', chassis: '', port: '' });
    const p = new glue.Playground();
    const compile = () => {
      p.clear_files();
      for (const [name, bytes] of files) p.add_file(name, bytes);
      return p.compile();
    };
    if (!compile().includes('"ok":true')) throw new Error('contoso did not compile');
    if (!p.decide(message, facts).includes('"kind":"emergency"')) throw new Error('not an emergency');
    const median = (fn, batch, samples) => {
      for (let i = 0; i < batch; i++) fn(); // warm-up
      const per = [];
      for (let s = 0; s < samples; s++) {
        const start = performance.now();
        for (let i = 0; i < batch; i++) fn();
        per.push(((performance.now() - start) * 1000) / batch);
      }
      per.sort((a, b) => a - b);
      return per[Math.floor(per.length / 2)];
    };
    return {
      compile_contoso_us: median(compile, 50, 21),
      decide_hq_wired_us: median(() => p.decide(message, facts), 500, 21),
    };
  });
  console.log(`chromium playground/compile_contoso  median ${result.compile_contoso_us.toFixed(1)} µs`);
  console.log(`chromium playground/decide_hq_wired  median ${result.decide_hq_wired_us.toFixed(1)} µs`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
