// The demo's sample calls (samples/manifest.tsv: file, peer, kind, shows): pick one into
// the form, or run them all in order, like `cargo xtask demo`, into one table.

const $ = (id) => document.getElementById(id);

/** Fills the sample picker; picking one puts its message and peer in the form. */
export async function loadSamples() {
  const response = await fetch('samples/manifest.tsv', { cache: 'no-store' });
  if (!response.ok) return;
  const rows = (await response.text()).trim().split('\n').slice(1).map((l) => l.split('\t'));
  const select = $('sample');
  for (const [file, peer, kind, shows] of rows) {
    const option = document.createElement('option');
    option.value = file;
    option.textContent = `${file} (${kind})`;
    Object.assign(option.dataset, { peer, shows });
    select.append(option);
  }
  select.addEventListener('change', async () => {
    const option = select.selectedOptions[0];
    if (!option.value) return;
    $('message').value = (await sampleText(option.value)).replace(/\r\n/g, '\n');
    $('peer').value = option.dataset.peer;
    $('sample-shows').textContent = option.dataset.shows;
    select.dataset.loaded = option.value;
  });
}

async function sampleText(file) {
  return fetch(`samples/${encodeURIComponent(file)}`).then((r) => r.text());
}

/** Decides every sample in manifest order with `decide(text, peer)`; one row each. The
 *  callback store carries over, so the PSAP callback finds the visitor's ELIN. */
export async function runEverySample(decide) {
  const body = document.querySelector('#all-samples tbody');
  body.replaceChildren();
  for (const option of [...$('sample').options].filter((o) => o.value)) {
    const answer = decide(await sampleText(option.value), option.dataset.peer);
    const row = document.createElement('tr');
    row.dataset.file = option.value;
    const r = answer.report;
    const cells = answer.error
      ? [option.value, option.dataset.peer, `error: ${answer.error}`, '', '', '', '']
      : [option.value, option.dataset.peer, r.kind, r.location?.erl ?? '—', r.policy ?? '—', r.route?.id ?? '—', r.elin ?? '—'];
    for (const text of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      row.append(td);
    }
    body.append(row);
  }
  body.dataset.runs = String(Number(body.dataset.runs ?? 0) + 1);
}
