// The coverage table: every ERL, the elements that reach it, and the flags.

/** Fills the coverage table from a `coverage` answer (or empties it for `null`). */
export function showCoverage(coverage) {
  const body = document.querySelector('#coverage tbody');
  body.replaceChildren();
  document.getElementById('unvalidated').replaceChildren();
  if (!coverage) return;
  for (const erl of coverage.erls) {
    const row = document.createElement('tr');
    row.dataset.erl = erl.id;
    row.append(
      cell(`${erl.id}`, erl.description),
      cell(erl.address),
      cell(erl.elins.join(', ') || '—'),
      reachedBy(erl),
      flags(erl, coverage.unreferenced.includes(erl.id)),
    );
    body.append(row);
  }
  const list = document.getElementById('unvalidated');
  list.replaceChildren(
    ...coverage.unvalidated.map((e) => {
      const li = document.createElement('li');
      li.textContent = `${e.kind} ${e.element} (${e.file}:${e.line}) → ${e.erl}`;
      return li;
    }),
  );
  document.getElementById('unvalidated-none').hidden = coverage.unvalidated.length > 0;
}

function cell(text, title) {
  const td = document.createElement('td');
  td.textContent = text;
  if (title) td.title = title;
  return td;
}

function reachedBy(erl) {
  const td = document.createElement('td');
  const list = document.createElement('ul');
  for (const e of erl.elements) {
    const li = document.createElement('li');
    li.textContent = `${e.kind} ${e.element} (${e.file}:${e.line})`;
    list.append(li);
  }
  for (const caller of erl.callers) {
    const li = document.createElement('li');
    li.textContent = `caller ${caller} (static location)`;
    list.append(li);
  }
  td.append(list);
  return td;
}

function flags(erl, unreferenced) {
  const td = document.createElement('td');
  const flag = (text, cls) => {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = text;
    td.append(span, ' ');
  };
  if (unreferenced) flag('Unreferenced', 'flag');
  if (!erl.validated) flag('Not MSAG-validated', 'flag warn');
  return td;
}
