/**
 * The shape of src/, checked from its import statements (read with TypeScript's own parser):
 * no module imports itself back through others at run time (an import of types only vanishes
 * when compiled and does not count), and the folders depend one way, engine -> distributions ->
 * lang -> compute -> workers -> server: no folder imports one after it.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import t from 'tap';
import ts from 'typescript';
import { file } from '../scripts/paths.js';

const SRC = file('src');
/** The folders in the order they may depend on each other: each on those before it only. */
const LAYERS = ['engine', 'distributions', 'lang', 'compute', 'workers', 'server'];

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'widget' ? [] : modules(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** The modules of src/ that `file` imports at run time (relative imports not of types only). */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false);
  const found: string[] = [];
  for (const statement of source.statements) {
    let specifier: ts.Expression | undefined;
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      const typesOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined && clause.namedBindings !== undefined && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typesOnly) specifier = statement.moduleSpecifier;
    } else if (ts.isExportDeclaration(statement) && !statement.isTypeOnly && statement.moduleSpecifier !== undefined) {
      const named = statement.exportClause;
      const typesOnly = named !== undefined && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      if (!typesOnly) specifier = statement.moduleSpecifier;
    }
    if (specifier !== undefined && ts.isStringLiteral(specifier) && specifier.text.startsWith('.')) {
      found.push(resolve(dirname(file), specifier.text.replace(/\.js$/, '.ts')));
    }
  }
  return found;
}

const files = modules(SRC);
const graph = new Map(files.map((f) => [f, runtimeImports(f).filter((g) => files.includes(g))]));
const name = (f: string): string => relative(SRC, f);

/** The strongly connected components of more than one module (Tarjan's algorithm): the cycles. */
function cycles(): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(name(w));
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

t.test('src/ has its modules, and the parser sees their imports', async (t) => {
  t.ok(files.length > 50, `${files.length} modules`);
  t.ok(graph.get(join(SRC, 'compute', 'compute.ts'))!.includes(join(SRC, 'compute', 'grad.ts')), 'compute.ts imports grad.ts');
});

t.test('no import cycle at run time anywhere in src/', async (t) => {
  t.strictSame(cycles(), [], 'each list is a set of modules that import each other round');
});

t.test('each folder imports only the folders before it: engine, distributions, lang, compute, workers, server', async (t) => {
  const layerOf = (f: string): number => LAYERS.indexOf(name(f).split('/')[0]);
  const upward: string[] = [];
  for (const [from, tos] of graph) {
    const layer = layerOf(from);
    if (layer < 0) continue;
    for (const to of tos) if (layerOf(to) > layer) upward.push(`${name(from)} -> ${name(to)}`);
  }
  t.strictSame(upward, []);
});
