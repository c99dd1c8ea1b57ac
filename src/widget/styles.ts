/**
 * The elements' style sheet, adopted by each shadow root (a constructable stylesheet: a strict
 * Content-Security-Policy allows it where it would block a <style> element or a style
 * attribute). Everything themable is a custom property: set --adjoint-accent and friends on the
 * element, or style its parts with ::part().
 */
export const CSS = `
:host {
  --_bg: var(--adjoint-bg, #ffffff);
  --_fg: var(--adjoint-fg, #1b1f24);
  --_muted: var(--adjoint-muted, #57606a);
  --_border: var(--adjoint-border, #c6ccd3);
  --_panel: var(--adjoint-panel, #f4f6f8);
  --_accent: var(--adjoint-accent, #0b5cad);
  --_accent-2: var(--adjoint-accent-2, #b3361b);
  --_error: var(--adjoint-error, #b3261e);
  --_good: var(--adjoint-good, #1a7f37);
  --_grid: var(--adjoint-grid, #e3e7eb);
  --_highlight: var(--adjoint-highlight, #fff2b3);
  --_font: var(--adjoint-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  --_mono: var(--adjoint-mono, ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace);
  --_radius: var(--adjoint-radius, 6px);
  display: block;
  color: var(--_fg);
  font-family: var(--_font);
  font-size: 15px;
  line-height: 1.45;
  max-width: 44rem;
}
:host([hidden]) { display: none; }
:host([theme="dark"]) {
  --_bg: var(--adjoint-bg, #161b22);
  --_fg: var(--adjoint-fg, #e6edf3);
  --_muted: var(--adjoint-muted, #9da7b3);
  --_border: var(--adjoint-border, #3d444d);
  --_panel: var(--adjoint-panel, #1f252d);
  --_accent: var(--adjoint-accent, #6cb6ff);
  --_accent-2: var(--adjoint-accent-2, #ff967d);
  --_error: var(--adjoint-error, #ff8a80);
  --_good: var(--adjoint-good, #57d37a);
  --_grid: var(--adjoint-grid, #2d333b);
  --_highlight: var(--adjoint-highlight, #4d4210);
}
@media (prefers-color-scheme: dark) {
  :host(:not([theme="light"]):not([theme="dark"])) {
    --_bg: var(--adjoint-bg, #161b22);
    --_fg: var(--adjoint-fg, #e6edf3);
    --_muted: var(--adjoint-muted, #9da7b3);
    --_border: var(--adjoint-border, #3d444d);
    --_panel: var(--adjoint-panel, #1f252d);
    --_accent: var(--adjoint-accent, #6cb6ff);
    --_accent-2: var(--adjoint-accent-2, #ff967d);
    --_error: var(--adjoint-error, #ff8a80);
    --_good: var(--adjoint-good, #57d37a);
    --_grid: var(--adjoint-grid, #2d333b);
    --_highlight: var(--adjoint-highlight, #4d4210);
  }
}
:host(:focus-visible) { outline: 3px solid var(--_accent); outline-offset: 2px; border-radius: var(--_radius); }
.frame {
  background: var(--_bg);
  border: 1px solid var(--_border);
  border-radius: var(--_radius);
  padding: 0.75rem 0.9rem;
  display: grid;
  gap: 0.6rem;
}
.title { font-weight: 600; font-size: 0.95rem; margin: 0; }
.sr-only {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; border: 0;
}
label { color: var(--_muted); font-size: 0.85rem; }
textarea, input, select, button { font: inherit; color: inherit; }
textarea {
  font-family: var(--_mono);
  font-size: 0.9rem;
  background: var(--_panel);
  border: 1px solid var(--_border);
  border-radius: var(--_radius);
  padding: 0.4rem 0.5rem;
  resize: vertical;
  min-height: 2.4rem;
  width: 100%;
  box-sizing: border-box;
}
textarea[readonly] { opacity: 0.85; }
textarea[aria-invalid="true"] { border-color: var(--_error); }
input[type="number"], input[type="text"], select {
  background: var(--_panel);
  border: 1px solid var(--_border);
  border-radius: var(--_radius);
  padding: 0.2rem 0.4rem;
}
input[type="number"] { width: 6.5rem; font-family: var(--_mono); }
input[type="text"] { font-family: var(--_mono); }
/* A box for an answer: the row's width but the button's, room for its placeholder. */
input.grow { flex: 1 1 20rem; min-width: 0; }
input[type="range"] { accent-color: var(--_accent); flex: 1; min-width: 8rem; }
:focus-visible { outline: 2px solid var(--_accent); outline-offset: 1px; }
button {
  background: var(--_panel);
  border: 1px solid var(--_border);
  border-radius: var(--_radius);
  padding: 0.25rem 0.7rem;
  cursor: pointer;
}
button:hover:not(:disabled) { border-color: var(--_accent); }
button.primary { background: var(--_accent); border-color: var(--_accent); color: var(--_bg); font-weight: 600; }
button:disabled { opacity: 0.55; cursor: default; }
.row { display: flex; align-items: center; gap: 0.5rem; flex-wrap: wrap; }
.controls { display: grid; gap: 0.35rem; }
.name { font-family: var(--_mono); min-width: 2.5rem; }
.error {
  color: var(--_error);
  border-left: 3px solid var(--_error);
  padding: 0.2rem 0.5rem;
  font-size: 0.9rem;
  white-space: pre-wrap;
}
.error[hidden], [hidden] { display: none !important; }
.bar { display: flex; align-items: center; gap: 0.6rem; color: var(--_muted); font-size: 0.8rem; min-height: 1.6rem; }
.status::before {
  content: ""; display: inline-block; width: 0.55rem; height: 0.55rem; border-radius: 50%;
  margin-right: 0.35rem; background: var(--_border); vertical-align: baseline;
}
.status.loading::before { background: var(--_accent); animation: pulse 1s ease-in-out infinite alternate; }
.status.error::before { background: var(--_error); }
.badge {
  margin-left: auto; padding: 0 0.45rem; border: 1px solid var(--_border); border-radius: var(--_radius);
  background: var(--_panel); color: var(--_muted); white-space: nowrap;
}
.badge[data-where="local"] { border-color: var(--_good); }
@keyframes pulse { from { opacity: 0.25; } to { opacity: 1; } }
.readings { font-family: var(--_mono); font-size: 0.95rem; display: grid; gap: 0.15rem; }
.readings .gradient { display: grid; gap: 0.1rem; }
svg { display: block; width: 100%; height: auto; overflow: visible; }
svg[part="graph"] { width: auto; max-width: 100%; }
svg text { fill: var(--_muted); font-size: 11px; font-family: var(--_font); }
svg .axis { stroke: var(--_border); stroke-width: 1; fill: none; }
svg .gridline { stroke: var(--_grid); stroke-width: 1; }
svg .curve { stroke: var(--_accent); stroke-width: 2; fill: none; }
svg .tangent { stroke: var(--_accent-2); stroke-width: 1.5; stroke-dasharray: 5 4; fill: none; }
svg .point { fill: var(--_accent-2); }
svg .bar-rect { fill: var(--_accent); opacity: 0.8; }
svg .bar-rect.tail { fill: var(--_accent-2); }
svg .contour { stroke: var(--_muted); stroke-width: 0.8; fill: none; opacity: 0.7; }
svg .path { stroke: var(--_accent-2); stroke-width: 2; fill: none; }
svg .start { fill: var(--_muted); }
svg .end { fill: var(--_accent-2); }
svg .optimum { fill: none; stroke: var(--_good); stroke-width: 2; }
svg .node rect { fill: var(--_panel); stroke: var(--_border); stroke-width: 1; }
svg .node.input rect { stroke: var(--_accent); }
svg .node text { fill: var(--_fg); font-family: var(--_mono); font-size: 11px; }
svg .node.done rect { stroke: var(--_accent); }
svg .node.current rect { fill: var(--_highlight); stroke: var(--_accent-2); stroke-width: 2.5; }
svg .edge { stroke: var(--_muted); stroke-width: 1; fill: none; }
svg .edge.current { stroke: var(--_accent-2); stroke-width: 2; }
table { border-collapse: collapse; font-family: var(--_mono); font-size: 0.85rem; width: 100%; }
th, td { text-align: right; padding: 0.15rem 0.5rem; border-bottom: 1px solid var(--_grid); }
th { color: var(--_muted); font-weight: 600; font-family: var(--_font); }
th:first-child, td:first-child, .op { text-align: left; }
tr.current td, tr.current th { background: var(--_highlight); color: var(--_fg); }
td.pending { color: var(--_muted); }
tr { transition: background-color 0.15s; }
.scroll { overflow-x: auto; }
.verdict { font-weight: 600; }
.verdict[data-verdict="pass"] { color: var(--_good); }
.verdict[data-verdict="fail"] { color: var(--_error); }
.verdict ul { font-weight: 400; font-family: var(--_mono); font-size: 0.85rem; margin: 0.3rem 0 0; padding-left: 1.2rem; color: var(--_fg); }
.legend { color: var(--_muted); font-size: 0.8rem; }
@media (prefers-reduced-motion: reduce) {
  * { animation: none !important; transition: none !important; }
}
`;

let shared: CSSStyleSheet | null = null;

/** One sheet for every element of the page (constructed once, adopted by each shadow root). */
export function sheet(): CSSStyleSheet | null {
  if (shared === null && typeof CSSStyleSheet !== 'undefined' && 'replaceSync' in CSSStyleSheet.prototype) {
    shared = new CSSStyleSheet();
    shared.replaceSync(CSS);
  }
  return shared;
}
