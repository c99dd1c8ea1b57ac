/**
 * DOT to SVG with Graphviz compiled to WebAssembly (@viz-js/viz: the wasm is inlined in its
 * JavaScript, so it loads offline, and it imports no Node.js API, so this stays isomorphic).
 *
 * Loading takes a promise and rendering is synchronous, so the two are apart: `compute` awaits
 * `loadSvgRenderer()` when a request asks for SVG, then `computeSync` renders with the
 * instance loaded. The module is imported on first use only (it is 1.2 MB of JavaScript that
 * most requests never need), once per thread, and its instance kept; concurrent loads share
 * one promise. An instance that throws (out of WebAssembly memory or stack on a huge layout) may
 * be left broken, so it is dropped and the next SVG request loads a fresh one.
 */
import type { Viz } from '@viz-js/viz';
import { Problem } from './problem.js';

let loading: Promise<Viz> | null = null;
let loaded: Viz | null = null;

/** Loads Graphviz once per thread; resolves when `computeSync` can render SVG. A failed load is tried again next time. */
export async function loadSvgRenderer(): Promise<void> {
  loading ??= import('@viz-js/viz').then(async (viz) => (loaded = await viz.instance()));
  try {
    await loading;
  } catch (e) {
    loading = null;
    throw e;
  }
}

/** Whether a request to `endpoint` (not a batch: compute.ts looks into its items) asks for an SVG picture. */
export function wantsSvg(endpoint: string, body: unknown): boolean {
  const options = endpoint === 'trace' && body !== null && typeof body === 'object' ? (body as { options?: unknown }).options : undefined;
  return options !== null && typeof options === 'object' && (options as { format?: unknown }).format === 'svg';
}

/** The SVG of a DOT graph; the renderer must be loaded (`loadSvgRenderer`). */
export function renderSvg(dot: string): string {
  // A misuse of the library, not a bug: its detail is for the caller.
  if (loaded === null) throw new Problem('INTERNAL', 'SVG rendering needs Graphviz loaded first: call compute (not computeSync), or await loadSvgRenderer()');
  let result;
  try {
    result = loaded.render(dot, { format: 'svg', engine: 'dot' });
  } catch (e) {
    loaded = null;
    loading = null;
    const message = e instanceof Error ? e.message : String(e);
    throw new Problem('LIMIT_EXCEEDED', `picture size limit exceeded: Graphviz could not lay the graph out (${message}); format "dot" gives its source`, { limit: 'picture size' });
  }
  if (result.status !== 'success') {
    const message = result.errors.filter((e) => e.level === 'error').map((e) => e.message.trim()).join('; ') || 'no reason given';
    throw new Problem('INVALID_ARGUMENT', `Graphviz could not draw the graph: ${message}; format "dot" gives its source`);
  }
  // From the <svg> element on: the XML declaration, DOCTYPE and generator comment before it
  // add nothing to a standalone file and stand in the way of embedding it in a page.
  const start = result.output.indexOf('<svg');
  return start > 0 ? result.output.slice(start) : result.output;
}
