// The policy's source files in the page: loaded from the server beside the page
// (policy/index.json), a folder or files picked or dropped, and edited in place. The
// files never leave the page: they go to the engine (Wasm) and nowhere else.

/** The files, by name, as text; and which one the editor shows. */
export const files = new Map();
let selected = null;

const tabs = document.getElementById('file-tabs');
const editor = document.getElementById('editor');

/** Replaces the files with `entries` ([name, text] pairs) and shows the first TOML. */
export function setFiles(entries) {
  files.clear();
  for (const [name, text] of entries) files.set(name, text);
  const names = [...files.keys()].sort();
  selected = names.find((n) => n === 'bundle.toml') ?? names[0] ?? null;
  renderTabs(new Set());
  showSelected();
}

/** Shows `name` in the editor, with line `line` selected when given. */
export function select(name, line) {
  if (!files.has(name)) return;
  selected = name;
  renderTabs(currentProblemFiles);
  showSelected();
  if (line > 0) selectLine(line);
}

let currentProblemFiles = new Set();

/** Marks the tabs of files that have problems. */
export function markProblems(names) {
  currentProblemFiles = names;
  renderTabs(names);
}

function renderTabs(problemFiles) {
  tabs.replaceChildren();
  for (const name of [...files.keys()].sort()) {
    const tab = document.createElement('button');
    tab.type = 'button';
    tab.textContent = name;
    tab.dataset.file = name;
    tab.setAttribute('aria-current', String(name === selected));
    if (problemFiles.has(name)) tab.classList.add('has-problem');
    tab.addEventListener('click', () => select(name, 0));
    tabs.append(tab);
  }
}

function showSelected() {
  editor.value = selected ? files.get(selected) : '';
  editor.disabled = !selected;
}

function selectLine(line) {
  const lines = editor.value.split('\n');
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  const end = start + (lines[line - 1] ?? '').length;
  editor.focus();
  editor.setSelectionRange(start, end);
  const lineHeight = editor.scrollHeight / Math.max(lines.length, 1);
  editor.scrollTop = Math.max(0, (line - 3) * lineHeight);
}

/** Keeps the edited text of the selected file. */
editor.addEventListener('input', () => {
  if (selected) files.set(selected, editor.value);
});

/** The files of the policy served beside the page (`policy/index.json` lists them). */
export async function loadServed() {
  const index = await fetchOk('policy/index.json').then((r) => r.json());
  const entries = await Promise.all(
    index.files.map(async (name) => [name, await fetchOk(`policy/${encodeURIComponent(name)}`).then((r) => r.text())]),
  );
  setFiles(entries);
  return index.name;
}

async function fetchOk(url) {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return response;
}

/** Reads picked or dropped `File`s. A bundle is one flat folder: only base names count. */
export async function loadFiles(list) {
  const entries = await Promise.all([...list].map(async (file) => [file.name, await file.text()]));
  setFiles(entries);
}

/** The `File`s of a drop, descending into a dropped folder (one level: bundles are flat). */
export async function droppedFiles(dataTransfer) {
  const out = [];
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (entries.length === 0) return [...dataTransfer.files];
  for (const entry of entries) {
    if (entry.isFile) out.push(await new Promise((ok, fail) => entry.file(ok, fail)));
    else if (entry.isDirectory) {
      const children = await new Promise((ok, fail) => entry.createReader().readEntries(ok, fail));
      for (const child of children.filter((c) => c.isFile)) {
        out.push(await new Promise((ok, fail) => child.file(ok, fail)));
      }
    }
  }
  return out;
}
