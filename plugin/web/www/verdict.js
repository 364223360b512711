// Shows one decision: the verdict fields, the trace, the forwarded message with the
// engine's changes highlighted, and the PIDF-LO. Every field comes from the engine's
// report as is (the same report `e911-harness run --json` prints); nothing is re-derived.

const field = (name) => document.querySelector(`#verdict [data-field="${name}"]`);

/** Fills the verdict pane from a `decide` answer. */
export function showDecision(d) {
  const r = d.report;
  const loc = r.location;
  field('kind').textContent = r.kind;
  field('erl').textContent = loc?.erl ?? '—';
  field('address').textContent = loc ? `${loc.address}${loc.validated ? '' : ' (not MSAG-validated)'}` : '—';
  field('element').textContent = loc ? [loc.source, loc.element, loc.method].filter(Boolean).join(', ') : '—';
  field('policy').textContent = r.policy ? `${r.policy}${r.policy_reason ? ` (${r.policy_reason})` : ''}` : '—';
  field('route').textContent = r.route ? `${r.route.id}: ${r.route.kind} via ${r.route.trunk} → ${r.route.target}` : '—';
  field('route').dataset.id = r.route?.id ?? '';
  field('elin').textContent = r.elin ?? '—';
  field('degraded').textContent = r.degraded ?? '—';

  const trace = document.getElementById('trace');
  trace.replaceChildren(...r.trace.map((line) => item(line)));
  trace.append(item(d.edits === 0 ? '⇒ forwarded unchanged' : `⇒ forwarded with ${d.edits} edit(s)`));
  for (const n of d.notifications) trace.append(item(`⇒ notify ${n.target}: ${n.text}`));
  for (const line of d.facts_added) trace.append(item(`(network facts from the form: ${line})`));

  const forwarded = document.getElementById('forwarded');
  forwarded.replaceChildren(...d.diff.map(diffLine));
  forwarded.dataset.message = d.forwarded;
  document.getElementById('pidf').textContent = d.pidf ?? '(none: the forwarded message carries no PIDF-LO)';
}

/** Empties the verdict pane (after an error). */
export function clearDecision() {
  for (const dd of document.querySelectorAll('#verdict dd')) dd.textContent = '';
  document.getElementById('trace').replaceChildren();
  document.getElementById('forwarded').replaceChildren();
  document.getElementById('pidf').textContent = '';
}

function item(text) {
  const li = document.createElement('li');
  li.textContent = text;
  return li;
}

function diffLine(line) {
  const span = document.createElement('span');
  span.textContent = `${line.text}\n`;
  if (line.change !== 'same') span.className = line.change;
  return span;
}
