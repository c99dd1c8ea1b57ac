/**
 * The playground's page script (GET /): the widgets' attributes read from and written to the
 * URL's query (`?grad.program=...&trace.step=2&theme=dark`), so a link reproduces the page; the
 * attribute fields above each widget; the theme; and each widget's embedding snippet. It runs
 * before adjoint.js, so the widgets start with the URL's attributes.
 */
const PERSISTED: Readonly<Record<string, readonly string[]>> = {
  grad: ['program', 'inputs', 'ranges', 'wrt', 'output'],
  trace: ['program', 'inputs', 'mode', 'seed', 'step', 'output'],
  sample: ['program', 'inputs', 'ranges', 'n', 'seed', 'bins'],
  optimize: ['program', 'preset', 'params', 'data', 'ranges', 'optimizer', 'lr', 'steps', 'every'],
  check: ['program', 'ranges', 'wrt', 'n', 'seed'],
};
const THEMES = ['auto', 'light', 'dark'];

const widgets = Object.keys(PERSISTED)
  .map((key) => [key, document.getElementById(`w-${key}`)] as const)
  .filter((entry): entry is readonly [string, HTMLElement] => entry[1] !== null);

const query = new URLSearchParams(location.search);

function applyTheme(theme: string): void {
  const value = THEMES.includes(theme) ? theme : 'auto';
  document.documentElement.dataset.theme = value;
  for (const [, el] of widgets) el.setAttribute('theme', value);
  const select = document.getElementById('theme') as HTMLSelectElement | null;
  if (select !== null) select.value = value;
}

for (const [key, el] of widgets) {
  for (const attr of PERSISTED[key]) {
    const value = query.get(`${key}.${attr}`);
    if (value !== null) el.setAttribute(attr, value);
  }
}
applyTheme(query.get('theme') ?? 'auto');

let writeTimer: ReturnType<typeof setTimeout> | undefined;

/** The page's state as a query string: each widget's persisted attributes that are set, and the theme. */
function stateQuery(): string {
  const out = new URLSearchParams();
  for (const [key, el] of widgets) {
    for (const attr of PERSISTED[key]) {
      const value = el.getAttribute(attr);
      if (value !== null) out.set(`${key}.${attr}`, value);
    }
  }
  const theme = document.documentElement.dataset.theme ?? 'auto';
  if (theme !== 'auto') out.set('theme', theme);
  const text = out.toString();
  return text === '' ? '' : `?${text}`;
}

function writeUrl(): void {
  clearTimeout(writeTimer);
  writeTimer = setTimeout(() => history.replaceState(null, '', `${location.pathname}${stateQuery()}${location.hash}`), 250);
}

const escapeAttr = (v: string): string => v.replace(/&/g, '&amp;').replace(/'/g, '&#39;').replace(/\n/g, '&#10;');

function snippet(key: string, el: HTMLElement): string {
  const attrs = PERSISTED[key]
    .map((attr) => [attr, el.getAttribute(attr)] as const)
    .filter(([attr, v]) => v !== null && attr !== 'step')
    .map(([attr, v]) => ` ${attr}='${escapeAttr(v!)}'`)
    .join('');
  const tag = el.localName;
  return `<script type="module" src="${location.origin}/widget/adjoint.js"></script>\n<${tag}${attrs}></${tag}>`;
}

function refresh(key: string, el: HTMLElement): void {
  const code = document.querySelector(`code[data-snippet="${el.id}"]`);
  if (code !== null) code.textContent = snippet(key, el);
  for (const field of document.querySelectorAll<HTMLInputElement | HTMLSelectElement>(`.attrs[data-for="${el.id}"] [data-attr]`)) {
    if (document.activeElement !== field) field.value = el.getAttribute(field.dataset.attr!) ?? '';
  }
}

for (const [key, el] of widgets) {
  refresh(key, el);
  new MutationObserver(() => {
    refresh(key, el);
    writeUrl();
  }).observe(el, { attributes: true, attributeFilter: [...PERSISTED[key]] });
  for (const field of document.querySelectorAll<HTMLInputElement | HTMLSelectElement>(`.attrs[data-for="${el.id}"] [data-attr]`)) {
    field.addEventListener('change', () => {
      const attr = field.dataset.attr!;
      if (field.value.trim() === '') el.removeAttribute(attr);
      else el.setAttribute(attr, field.value);
      // A new preset brings its own program, parameters and learning rate.
      if (attr === 'preset') for (const other of ['program', 'params', 'data', 'ranges', 'lr']) el.removeAttribute(other);
    });
  }
}

document.getElementById('theme')?.addEventListener('change', (e) => {
  applyTheme((e.target as HTMLSelectElement).value);
  writeUrl();
});

const shareStatus = document.getElementById('share-status');
document.getElementById('share')?.addEventListener('click', () => {
  history.replaceState(null, '', `${location.pathname}${stateQuery()}${location.hash}`);
  const done = (text: string): void => {
    if (shareStatus !== null) shareStatus.textContent = text;
  };
  if (navigator.clipboard === undefined) done(`Link: ${location.href}`);
  else navigator.clipboard.writeText(location.href).then(() => done('Link copied.'), () => done(`Link: ${location.href}`));
});
document.getElementById('reset')?.addEventListener('click', () => location.assign(location.pathname));
