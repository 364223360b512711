// The playground page: wires the policy pane, the call form, the verdict and the
// coverage view to the engine, compiled to Wasm (plugin/web) and loaded through
// wasm-bindgen's generated glue in pkg/. No framework, no bundler, nothing fetched from
// anywhere but this page's own folder.

import init, { Playground } from './pkg/e911_web.js';
import * as policy from './policy.js';
import { showDecision, clearDecision } from './verdict.js';
import { showCoverage } from './coverage.js';
import { loadSamples, runEverySample } from './samples.js';

const $ = (id) => document.getElementById(id);
const status = $('status');
let playground = null;
/** How many decisions the page has shown (lets a test wait for the next one). */
let decisions = 0;
let compiles = 0;

/** Compiles the files in the editor; the last good policy stays in force on failure. */
function compile() {
  playground.clear_files();
  const encoder = new TextEncoder();
  for (const [name, text] of policy.files) playground.add_file(name, encoder.encode(text));
  const answer = JSON.parse(playground.compile());
  compiles += 1;
  document.body.dataset.compiles = String(compiles);
  const list = $('problems');
  list.replaceChildren(
    ...answer.problems.map((p) => {
      const li = document.createElement('li');
      li.textContent = p.text;
      li.dataset.file = p.file;
      li.dataset.line = String(p.line);
      li.addEventListener('click', () => policy.select(p.file, p.line));
      return li;
    }),
  );
  policy.markProblems(new Set(answer.problems.map((p) => p.file)));
  const result = $('compile-result');
  if (answer.ok) {
    result.className = 'ok';
    result.textContent = `Compiled: revision ${answer.revision}, ${answer.counts.erls} ERLs, ${answer.counts.subnets} subnets, ${answer.counts.bssids} BSSIDs, ${answer.counts.chassis} switches, ${answer.counts.ports} ports`;
  } else {
    result.className = 'error';
    result.textContent = `${answer.problems.length} problem(s); ` +
      (answer.revision ? `revision ${answer.revision} stays in force` : 'no policy in force');
  }
  status.textContent = answer.revision ? `Policy in force: revision ${answer.revision}` : 'No policy in force';
  status.dataset.revision = answer.revision ?? '';
  const coverage = JSON.parse(playground.coverage());
  showCoverage(coverage);
  return answer;
}

/** The engine's answer for a message's text and the call's facts. */
function decideText(text, facts) {
  // SIP lines end in CRLF (RFC 3261 §7); a textarea hands back LF only.
  const bytes = new TextEncoder().encode(text.replace(/\r?\n/g, '\r\n'));
  return JSON.parse(playground.decide(bytes, JSON.stringify(facts)));
}

/** Decides the message in the form. */
function decide() {
  const answer = decideText($('message').value, {
    peer: $('peer').value,
    transport: $('transport').value,
    now: $('now').value,
    node: $('node').value,
    bssid: $('bssid').value,
    chassis: $('chassis').value,
    port: $('port').value,
  });
  if (answer.error) {
    $('call-error').textContent = answer.error;
    clearDecision();
    return;
  }
  $('call-error').textContent = '';
  showDecision(answer);
  decisions += 1;
  $('verdict').dataset.decisions = String(decisions);
}

function nowRfc3339() {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

async function main() {
  await init();
  playground = new Playground();
  $('now').value = nowRfc3339();
  $('compile').addEventListener('click', compile);
  $('decide').addEventListener('click', decide);
  $('forget').addEventListener('click', () => playground.forget_callbacks());
  $('load-served').addEventListener('click', async () => {
    try {
      await policy.loadServed();
      compile();
    } catch (err) {
      $('compile-result').className = 'error';
      $('compile-result').textContent = `Cannot load the served policy: ${err.message}`;
    }
  });
  for (const id of ['pick-folder', 'pick-files']) {
    $(id).addEventListener('change', async (event) => {
      await policy.loadFiles(event.target.files);
      compile();
    });
  }
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    await policy.loadFiles(await policy.droppedFiles(e.dataTransfer));
    compile();
  });
  await loadSamples();
  $('run-all').addEventListener('click', () => runEverySample((text, peer) => decideText(text, {
    peer,
    transport: $('transport').value,
    now: $('now').value,
    node: $('node').value,
  })));
  status.textContent = 'Engine ready: load a policy';
  try {
    await policy.loadServed();
    compile();
  } catch {
    // Opened without a served policy: the buttons above still work.
  }
  document.body.dataset.ready = 'true';
}

main().catch((err) => {
  status.textContent = `The engine did not start: ${err.message}`;
  status.className = 'error';
});
