/**
 * The course widgets' files (SPEC.md section 9): `adjoint.js` (the elements), the playground's
 * page, script and style sheet, local mode's modules (`adjoint-local.js`, its worker, its
 * symbolic differentiation and its Graphviz chunk), and their source maps. `npm run build` bundles them with esbuild
 * into dist/widget/, each with its gzip and brotli forms beside it; a server run from src/
 * (tsx, tests) without that build bundles them in memory on the first request, esbuild being a
 * dev dependency there.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** A file as served: its bytes in each encoding, and the tags a conditional request names. */
export interface WidgetAsset {
  readonly type: string;
  readonly identity: Buffer;
  readonly gzip: Buffer;
  readonly br: Buffer;
  /** A strong ETag of the bytes; each encoding's adds its name. */
  readonly etag: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

/** The bundles' entry points (in src/widget/) and the files copied as they are. */
const ENTRIES = { adjoint: 'adjoint.ts', playground: 'playground.ts' };
const STATIC = ['index.html', 'playground.css'];
/**
 * Local mode's modules, bundled apart (loaded only when a page computes locally): the page's
 * side and the worker with the whole of `compute()`. Graphviz, which the worker imports only for
 * an SVG trace, is a chunk of its own beside them (`adjoint-local-viz-<hash>.js`).
 */
const LOCAL_ENTRIES = { 'adjoint-local': 'local/client.ts', 'adjoint-local-worker': 'local/worker.ts' };
/**
 * mathjs's symbolic differentiation (src/lang/symbolic.ts), which the worker imports only for a
 * `derivative` (about 40 kB gzipped): a module of its own, bundled alone with its own copy of
 * mathjs's core, and imported by the worker from beside it. As a chunk of the worker's build it
 * would not stay apart: mathjs exports every factory from one module, which the worker's parser
 * imports too, and esbuild moves what two chunks share into a third that both load.
 */
const SYMBOLIC = { name: 'adjoint-local-symbolic', file: '../lang/symbolic.ts', importedAs: /[\\/]lang[\\/]symbolic\.js$/ };

/** How every widget module is bundled by esbuild (bench/widget.ts bundles its local-mode timing the same way). */
export const BUNDLE_OPTIONS = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true } as const;

/** The widget's files by name (`adjoint.js`, `adjoint.js.map`, …), bundled from `sourceDir` (src/widget/) by esbuild. */
export async function bundleWidget(sourceDir: string): Promise<Map<string, Buffer>> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('the widget is not built (no dist/widget/) and esbuild, a dev dependency, is not installed to build it: run npm run build');
  }
  const options = {
    ...BUNDLE_OPTIONS,
    sourcemap: 'linked',
    legalComments: 'none',
    write: false,
    outdir: '/widget',
    logLevel: 'silent',
  } as const;
  const symbolicApart: import('esbuild').Plugin = {
    name: 'symbolic-apart',
    setup: (build) => build.onResolve({ filter: SYMBOLIC.importedAs }, () => ({ path: `./${SYMBOLIC.name}.js`, external: true })),
  };
  const entries = (table: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(table).map(([name, file]) => [name, join(sourceDir, file)]));
  const results = await Promise.all([
    esbuild.build({ ...options, entryPoints: entries(ENTRIES) }),
    esbuild.build({ ...options, entryPoints: entries(LOCAL_ENTRIES), splitting: true, chunkNames: 'adjoint-local-[name]-[hash]', plugins: [symbolicApart] }),
    esbuild.build({ ...options, entryPoints: entries({ [SYMBOLIC.name]: SYMBOLIC.file }) }),
  ]);
  const files = new Map<string, Buffer>();
  for (const out of results.flatMap((r) => r.outputFiles)) files.set(out.path.replace(/^.*[\\/]/, ''), Buffer.from(out.contents));
  for (const name of STATIC) files.set(name, readFileSync(join(sourceDir, name)));
  return files;
}

/** A file's served forms: compressed here (`quality`: brotli's, 11 at build time) unless given. */
export function asset(name: string, identity: Buffer, precompressed: { gzip?: Buffer; br?: Buffer } = {}, quality = 5): WidgetAsset {
  const hash = createHash('sha256').update(identity).digest('base64url').slice(0, 22);
  return {
    type: TYPES[extname(name)] ?? 'application/octet-stream',
    identity,
    gzip: precompressed.gzip ?? gzipSync(identity, { level: 9 }),
    br: precompressed.br ?? brotliCompressSync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: identity.length } }),
    etag: `"${hash}"`,
  };
}

/** The files of a built dist/widget/ directory, with the .gz and .br forms the build wrote. */
function readBuilt(dir: string): Map<string, WidgetAsset> {
  const assets = new Map<string, WidgetAsset>();
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.gz') || name.endsWith('.br')) continue;
    const path = join(dir, name);
    const maybe = (suffix: string): Buffer | undefined => (existsSync(path + suffix) ? readFileSync(path + suffix) : undefined);
    assets.set(name, asset(name, readFileSync(path), { gzip: maybe('.gz'), br: maybe('.br') }));
  }
  return assets;
}

let loading: Promise<Map<string, WidgetAsset>> | null = null;

/** The package's src/widget/: the nearest folder up from this module with a package.json, and its src/widget/. */
function widgetSources(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'src', 'widget');
}

/**
 * The widget's files: dist/widget/ next to the compiled server, else bundled from the package's
 * src/widget/ (a server run from its sources, or compiled for the tests into build/). Loaded once
 * per process, on first use: the server starts as fast as before.
 */
export function widgetAssets(): Promise<Map<string, WidgetAsset>> {
  loading ??= (async () => {
    // From dist/src/server/widget-assets.js, dist/widget/.
    const built = fileURLToPath(new URL('../../widget/', import.meta.url));
    if (existsSync(join(built, 'adjoint.js'))) return readBuilt(built);
    const source = widgetSources();
    if (!existsSync(join(source, 'adjoint.ts'))) throw new Error(`the widget is not built: neither ${built} nor its sources ${source} exist (run npm run build)`);
    const files = await bundleWidget(source);
    return new Map([...files].map(([name, bytes]) => [name, asset(name, bytes)]));
  })();
  // A failure is not kept: the next request tries again (say, once the build has run).
  loading.catch(() => (loading = null));
  return loading;
}
