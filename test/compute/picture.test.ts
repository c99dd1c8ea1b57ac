/**
 * Pictures of a trace, in-process (`options.format` "dot" and "svg"): the DOT of x*y + sin(x),
 * read back by Graphviz, against the closed forms of its values, tangents and adjoints; every
 * format answering the same value; text a client chose escaped so that Graphviz draws exactly
 * it and nothing else; SVG that is well-formed XML; and graphs too large to draw refused.
 */
import t, { type Test } from 'tap';
import { compute, computeSync, loadSvgRenderer } from '../../src/index.js';
import { problemOf } from '../helpers.js';
import { MAX_LAYOUT_SPAN, MAX_PICTURE_EDGES, MAX_PICTURE_STEPS, formatNumber, summarise, traceDot, type TraceTable } from '../../src/compute/picture.js';
import { renderSvg } from '../../src/compute/svg.js';
import { parseDot, svgNodes, xmlProblems, type ParsedGraph } from './picture-helpers.js';

type Json = Record<string, unknown>;

const x = 0.5;
const y = 4.2;
const LAB = { program: 'x*y + sin(x)', at: { x, y } };


/** The number a label line shows after its word ("value 2.1" → 2.1). */
function shown(line: string | undefined, word: string): number {
  const m = new RegExp(`^${word} (\\S+)$`).exec(line ?? '');
  return m === null ? NaN : Number(m[1]);
}

/** Five significant digits, as the pictures show numbers. */
function assertShows(t: Test, line: string | undefined, word: string, exact: number, label: string): void {
  const got = shown(line, word);
  t.ok(Math.abs(got - exact) <= 5e-5 * Math.abs(exact) + 1e-300, `${label}: ${word} shows ${exact} to 5 digits (line ${JSON.stringify(line)})`);
}

// First, before anything loads Graphviz in this process.
t.test('computeSync renders SVG only once Graphviz is loaded, and says how to load it', async (t) => {
  const before = problemOf(() => computeSync('trace', { ...LAB, options: { format: 'svg' } }));
  t.equal(before?.code, 'INTERNAL', 'refused before loading');
  t.match(before?.detail, /loadSvgRenderer/, 'the detail names loadSvgRenderer');
  await loadSvgRenderer();
  await loadSvgRenderer();
  const after = computeSync('trace', { ...LAB, options: { format: 'svg' } }) as { svg: string };
  t.match(after.svg, /^<svg /, 'renders once loaded (and loading twice is harmless)');
});

t.test('concurrent compute calls share one load of Graphviz', async (t) => {
  const results = (await Promise.all(Array.from({ length: 4 }, () => compute('trace', { ...LAB, options: { format: 'svg' } })))) as { svg: string }[];
  t.ok(results.every((r) => r.svg === results[0].svg), 'four concurrent SVGs of one request are identical');
});

// ---------------------------------------------------------------------------------------------
// The DOT of x*y + sin(x) at (0.5, 4.2), read back by Graphviz.

/** Tangents along (dx, dy), adjoints of z: the closed forms trace.test.ts checks the table against. */
function labExpectations(dx: number, dy: number) {
  return {
    x: { title: 'x (input)', value: x, tangent: dx, adjoint: y + Math.cos(x) },
    y: { title: 'y (input)', value: y, tangent: dy, adjoint: x },
    v1: { title: 'v1 = multiply(x, y)', value: x * y, tangent: dx * y + x * dy, adjoint: 1 },
    v2: { title: 'v2 = sin(x)', value: Math.sin(x), tangent: Math.cos(x) * dx, adjoint: 1 },
    v3: { title: 'v3 = add(v1, v2)', value: x * y + Math.sin(x), tangent: dx * y + x * dy + Math.cos(x) * dx, adjoint: 1 },
  };
}

function assertLabGraph(t: Test, graph: ParsedGraph, dx: number, dy: number, label: string): void {
  const expected = labExpectations(dx, dy);
  t.strictSame([...graph.nodes.keys()].sort(), Object.keys(expected).sort(), `${label}: nodes x, y, v1, v2, v3`);
  t.strictSame([...graph.edges].sort(), ['v1 -> v3', 'v2 -> v3', 'x -> v1', 'x -> v2', 'y -> v1'], `${label}: an edge from each argument to its step`);
  for (const [name, e] of Object.entries(expected)) {
    const lines = graph.nodes.get(name)?.lines ?? [];
    t.equal(lines[0], e.title, `${label}: ${name} is labelled ${JSON.stringify(e.title)}`);
    assertShows(t, lines[1], 'value', e.value, `${label}: ${name}`);
    assertShows(t, lines[2], 'tangent', e.tangent, `${label}: ${name}`);
    assertShows(t, lines[3], 'adjoint', e.adjoint, `${label}: ${name}`);
    const isOutput = name === 'v3';
    t.equal(lines.at(-1) === 'output', isOutput, `${label}: ${name} ${isOutput ? 'is' : 'is not'} marked as the output`);
    t.equal(graph.nodes.get(name)?.attributes.peripheries === '2', isOutput, `${label}: ${name} ${isOutput ? 'has' : 'has no'} double border`);
  }
}

t.test('dot of x*y + sin(x): a node per input and step, with value, tangent and adjoint, as the table has them', async (t) => {
  const cases: { name: string; tangents?: Json; d: [number, number] }[] = [
    { name: 'default tangent along x', d: [1, 0] },
    { name: 'tangents {x: 0.3, y: -2}', tangents: { x: 0.3, y: -2 }, d: [0.3, -2] },
  ];
  for (const c of cases) {
    const body = { ...LAB, ...(c.tangents === undefined ? {} : { tangents: c.tangents }) };
    const r = computeSync('trace', { ...body, options: { format: 'dot' } }) as { value: number; dot: string };
    t.strictSame(Object.keys(r).sort(), ['dot', 'value'], `${c.name}: the response is {value, dot}`);
    assertLabGraph(t, await parseDot(r.dot), ...c.d, c.name);
    // The picture shows the table's numbers.
    const table = computeSync('trace', body) as TraceTable;
    t.equal(r.value, table.value, `${c.name}: the value is the table's`);
    const graph = await parseDot(r.dot);
    for (const s of table.steps) {
      t.equal(graph.nodes.get(s.id)?.lines[1], `value ${summarise(s.value)}`, `${c.name}: ${s.id} shows the table's value`);
      t.equal(graph.nodes.get(s.id)?.lines[2], `tangent ${summarise(s.tangent)}`, `${c.name}: ${s.id} shows the table's tangent`);
      t.equal(graph.nodes.get(s.id)?.lines[3], `adjoint ${summarise(s.adjoint)}`, `${c.name}: ${s.id} shows the table's adjoint`);
    }
  }
});

t.test('svg of x*y + sin(x): well-formed SVG with a group per node holding its label', async (t) => {
  const r = (await compute('trace', { ...LAB, options: { format: 'svg' } })) as { value: number; svg: string };
  t.strictSame(Object.keys(r).sort(), ['svg', 'value'], 'the response is {value, svg}');
  t.match(r.svg, /^<svg width="\d+pt" height="\d+pt"/, 'starts with the <svg> element');
  t.match(r.svg, /<\/svg>\s*$/, 'ends with </svg>');
  t.strictSame(xmlProblems(r.svg), [], 'well-formed XML');
  const nodes = svgNodes(r.svg);
  t.equal((r.svg.match(/<g id="node\d+" class="node">/g) ?? []).length, 5, 'five node groups');
  const expected = labExpectations(1, 0);
  for (const [name, e] of Object.entries(expected)) t.equal(nodes.get(name)?.[0], e.title, `the group of ${name} draws ${JSON.stringify(e.title)}`);
  t.strictSame(nodes.get('v2'), ['v2 = sin(x)', 'value 0.47943', 'tangent 0.87758', 'adjoint 1'], 'v2 drawn line by line');
  t.equal(r.svg, renderSvg((computeSync('trace', { ...LAB, options: { format: 'dot' } }) as { dot: string }).dot), 'the SVG is the DOT drawn');
});

t.test('every format of the same request answers the same value (and seed)', async (t) => {
  const cases: { name: string; body: Json }[] = [
    { name: 'x*y + sin(x)', body: LAB },
    { name: 'a matrix program', body: { program: 'A = [x, 2; y, x * y]\nsum(A * [x; 1]) + det(A)', at: { x, y } } },
    { name: 'a vector output with a cotangent, flat layout', body: { program: 'W * v', at: { W: [[1, 2], [3, 4]], v: [0.5, -1] }, cotangent: [1, 2], options: { layout: 'flat' } } },
    { name: 'a random draw with a seed', body: { program: 'z = rsample(normal(mu, 2)); z^2', at: { mu: 1 }, seed: 7 } },
    { name: 'a random draw with a fresh seed, seeded as reported', body: { program: 'rand() * x', at: { x: 2 } } },
    { name: 'a graph', body: { graph: { nodes: [{ id: 'p', op: 'multiply', args: ['x', 'y'] }, { id: 'f', op: 'exp', args: ['p'] }], output: 'f' }, at: { x, y } } },
    { name: 'an output that is a constant', body: { program: '3', at: { x } } },
    { name: 'an output that is an input', body: { program: 'x', at: { x } } },
  ];
  for (const c of cases) {
    const table = (await compute('trace', c.body)) as Json;
    // A fresh seed is reported: ask again with it for the same draws.
    const body = table.seed === undefined ? c.body : { ...c.body, seed: table.seed };
    for (const format of ['table', 'graph', 'dot', 'svg']) {
      const r = (await compute('trace', { ...body, options: { ...(body.options as Json | undefined), format } })) as Json;
      t.strictSame(r.value, table.value, `${c.name}: format ${format} answers the table's value`);
      t.equal(r.seed, table.seed, `${c.name}: format ${format} reports the table's seed`);
    }
  }
});

t.test('a distribution step, a constant output and tensors are drawn as such', async (t) => {
  const normal = await parseDot((computeSync('trace', { program: 'z = rsample(normal(mu, 2)); z^2', at: { mu: 1 }, seed: 1, options: { format: 'dot' } }) as { dot: string }).dot);
  t.strictSame(normal.nodes.get('v1')?.lines, ['v1 = normal(mu, 2)', 'normal distribution'], 'a distribution: its family, no numbers');
  t.strictSame([...normal.nodes.keys()].sort(), ['c1', 'c2', 'mu', 'v1', 'v2', 'v3'], 'constants as nodes of their own');
  t.strictSame(normal.nodes.get('c1')?.lines, ['2'], 'a constant shows its value');
  t.equal(normal.nodes.get('c1')?.attributes.shape, 'plaintext', 'a constant is a small plain node');

  const constant = await parseDot((computeSync('trace', { program: '3', at: { x }, options: { format: 'dot' } }) as { dot: string }).dot);
  t.strictSame(constant.nodes.get('c1')?.lines, ['3', 'output'], 'a constant output is marked');
  t.equal(constant.nodes.get('c1')?.attributes.peripheries, '2', 'with a double border');

  const matrix = await parseDot((computeSync('trace', { program: 'sum(A * v)', at: { A: [[1, 2, 3], [4, 5, 6]], v: [1, 0, -1] }, options: { format: 'dot' } }) as { dot: string }).dot);
  t.strictSame(matrix.nodes.get('A')?.lines, ['A (input)', 'value [2×3] 1, 2, 3, 4, …', 'tangent [2×3] 1, 1, 1, 1, …', 'adjoint [2×3] 1, 0, -1, 1, …'], 'a tensor: its shape and first elements');
});

// ---------------------------------------------------------------------------------------------
// Escaping.

/** Text a client could send, and what Graphviz must draw for it: itself, control characters as \u{…}. */
const hostile: readonly { raw: string; drawn: string }[] = [
  { raw: 'a"b', drawn: 'a"b' },
  { raw: 'back\\slash', drawn: 'back\\slash' },
  { raw: 'ends with \\', drawn: 'ends with \\' },
  { raw: '\\N \\G \\E \\T \\H \\L \\l \\r \\n', drawn: '\\N \\G \\E \\T \\H \\L \\l \\r \\n' },
  { raw: '"]; evil [label="x"]; "v1" -> "evil', drawn: '"]; evil [label="x"]; "v1" -> "evil' },
  { raw: '} digraph { injected', drawn: '} digraph { injected' },
  { raw: '</text><script>alert(1)</script>', drawn: '</text><script>alert(1)</script>' },
  { raw: '&amp; &lt; &#65; & <b>', drawn: '&amp; &lt; &#65; & <b>' },
  { raw: '-- comment --> <!-- x', drawn: '-- comment --> <!-- x' },
  { raw: 'nul\u0000 bell\u0007 esc\u001b del\u007f', drawn: 'nul\\u{0} bell\\u{7} esc\\u{1b} del\\u{7f}' },
  { raw: 'lone \ud800 surrogate', drawn: 'lone \\u{d800} surrogate' },
  { raw: 'emoji 😀 αβγ', drawn: 'emoji 😀 αβγ' },
];

/** A table whose every name, op and string is hostile text: two inputs, a step per text, a string constant each. */
function hostileTable(): TraceTable {
  const inputs = hostile.slice(0, 2).map((h) => ({ name: h.raw, value: 1, tangent: 1, adjoint: 1 }));
  const steps = hostile.map((h, i) => ({ id: `s${i} ${h.raw}`, op: `op ${h.raw}`, args: [inputs[i % 2].name, { const: h.raw }], value: 2, tangent: 3, adjoint: 4 }));
  return { value: 2, inputs, steps, output: steps.at(-1)!.id };
}

t.test('text a client chose cannot break out of its quoted string: Graphviz draws exactly it', async (t) => {
  const table = hostileTable();
  const dot = traceDot(table);
  const graph = await parseDot(dot);
  t.equal(graph.nodes.size, 2 + 2 * hostile.length, 'no node more or less: two inputs, a step and a constant per text');
  t.equal(graph.edges.length, 2 * hostile.length, 'no edge more or less');
  const benign = await parseDot(traceDot({ ...table, inputs: [{ name: 'a', value: 1, tangent: 1, adjoint: 1 }], steps: [{ id: 's', op: 'f', args: ['a', { const: 'long enough string' }], value: 1, tangent: 1, adjoint: 1 }], output: 's' }));
  const allowed = new Set([...benign.nodes.values()].flatMap((n) => Object.keys(n.attributes)));
  t.strictSame([...graph.nodes.values()].flatMap((n) => Object.keys(n.attributes)).filter((k) => !allowed.has(k)), [], 'no attribute was injected');
  const drawn = [...graph.nodes.values()].map((n) => n.lines);
  hostile.forEach((h, i) => {
    const step = drawn.find((lines) => lines[0]?.startsWith(`s${i} `));
    t.equal(step?.[0], `s${i} ${h.drawn} = op ${h.drawn}(${hostile[i % 2].drawn}, ${JSON.stringify(h.raw).length <= 12 ? JSON.stringify(h.raw) : `c${i + 1}`})`, `step ${i}: ${JSON.stringify(h.raw)} drawn as it is`);
    const constant = drawn.find((lines) => lines[0] === `c${i + 1}` || lines[0] === JSON.stringify(h.raw));
    t.ok(constant !== undefined, `constant ${i}: the string ${JSON.stringify(h.raw)} drawn as its JSON`);
  });
  for (const h of hostile.slice(0, 2)) t.ok(drawn.some((lines) => lines[0] === `${h.drawn} (input)`), `input ${JSON.stringify(h.raw)} drawn as it is`);

  const svg = renderSvg(dot);
  t.strictSame(xmlProblems(svg), [], 'the SVG is well-formed XML');
  t.notMatch(svg, /<script/i, 'no element the text named');
  const texts = [...svgNodes(svg).values()].flat();
  hostile.forEach((h, i) => t.ok(texts.some((line) => line.startsWith(`s${i} ${h.drawn} = `)), `SVG draws step ${i} as it is`));
});

t.test('names a request may use that mean something in DOT, or collide with step and constant ids', async (t) => {
  const program = { program: 'mse_loss(node, edge, "sum") + graph * strict + v1 * c1 + _ * __x9', at: { node: [1, 2], edge: [0.5, 2.5], graph: 2, strict: 3, v1: 0.5, c1: 4, _: 1, __x9: 2 } };
  const r = computeSync('trace', { ...program, options: { format: 'dot' } }) as { dot: string };
  const graph = await parseDot(r.dot);
  const table = computeSync('trace', program) as TraceTable;
  t.strictSame(
    [...graph.nodes.keys()].sort(),
    [...Object.keys(program.at), ...table.steps.map((s) => s.id), 'c_1'].sort(),
    'the inputs by name (keywords too), the steps v_1, … and the constant c_1, none mistaken for another',
  );
  t.equal(graph.nodes.get('v_1')?.lines[0], 'v_1 = mse_loss(node, edge, "sum")', 'the string option in the formula, quoted');
  t.strictSame(graph.nodes.get('c_1')?.lines, ['"sum"'], 'and as a constant');
  t.strictSame(xmlProblems((computeSync('trace', { ...program, options: { format: 'svg' } }) as { svg: string }).svg), [], 'its SVG is well-formed');

  const graphRequest = {
    graph: { nodes: [{ id: 'node', op: 'multiply', args: ['x', 'edge'] }, { id: 'c1', op: 'const', value: 2 }, { id: '_', op: 'add', args: ['node', 'c1'] }], output: '_' },
    at: { x, edge: 3 },
  };
  const fromGraph = await parseDot((computeSync('trace', { ...graphRequest, options: { format: 'dot' } }) as { dot: string }).dot);
  t.strictSame([...fromGraph.nodes.keys()].sort(), ['c1', 'edge', 'v1', 'v2', 'x'], 'a graph with ids node, c1 and _: inputs by name, steps renumbered');
  t.equal(fromGraph.nodes.get('v2')?.lines[0], 'v2 = add(v1, 2)', 'the constant inline in the formula');
});

// ---------------------------------------------------------------------------------------------
// Limits and errors.

const loop = (n: number): Json => ({ program: `z = x\nfor i = 1:${n}\n  z = z * x\nend\nz`, at: { x: 1.0001 } });

t.test('a graph too large to draw is refused with 422 LIMIT_EXCEEDED "picture size"; the table still answers', async (t) => {
  const cases: { name: string; body: Json; formats: string[]; detail: RegExp }[] = [
    { name: `a loop of ${MAX_PICTURE_STEPS + 100} steps`, body: loop(MAX_PICTURE_STEPS + 100), formats: ['dot', 'svg'], detail: new RegExp(`${MAX_PICTURE_STEPS + 100} steps, over the ${MAX_PICTURE_STEPS}`) },
    {
      name: `a matrix literal of ${MAX_PICTURE_EDGES + 100} arguments`,
      body: { program: `sum([${new Array(MAX_PICTURE_EDGES + 100).fill('x').join(', ')}])`, at: { x } },
      formats: ['dot', 'svg'],
      // The matrix's 2100 and sum's one.
      detail: new RegExp(`${MAX_PICTURE_EDGES + 101} arguments, over the ${MAX_PICTURE_EDGES}`),
    },
    { name: 'a loop of 300 steps that each use x (its edges cross too many layers to lay out)', body: loop(300), formats: ['svg'], detail: new RegExp(`layers in all, over the ${MAX_LAYOUT_SPAN}`) },
  ];
  for (const c of cases) {
    for (const format of c.formats) {
      const start = performance.now();
      const p = problemOf(() => computeSync('trace', { ...c.body, options: { format } }));
      t.strictSame({ status: p?.status, code: p?.code, limit: p?.limit }, { status: 422, code: 'LIMIT_EXCEEDED', limit: 'picture size' }, `${c.name}, ${format}: 422 LIMIT_EXCEEDED, picture size`);
      t.match(p?.detail, c.detail, `${c.name}, ${format}: the detail says why`);
      t.match(p?.detail, /format "(table|dot)"/, `${c.name}, ${format}: and what to ask for instead`);
      t.ok(performance.now() - start < 5000, `${c.name}, ${format}: refused without drawing`);
    }
    t.ok(Array.isArray((computeSync('trace', c.body) as TraceTable).steps), `${c.name}: format table answers`);
  }
  const dot = computeSync('trace', { ...loop(300), options: { format: 'dot' } }) as { dot: string };
  t.match(dot.dot, /"v300" \[label="v300 = multiply\(v299, x\)/, 'the loop of 300 steps has its DOT');
  const drawn = (await compute('trace', { ...loop(60), options: { format: 'svg' } })) as { svg: string };
  t.equal((drawn.svg.match(/class="node"/g) ?? []).length, 61, 'a loop of 60 steps is drawn: x and 60 steps');
});

t.test('pictures need adjoints as the table does: a vector output needs a cotangent', async (t) => {
  const body = { program: 'W * v', at: { W: [[1, 2], [3, 4]], v: [0.5, -1] } };
  for (const format of ['dot', 'svg']) {
    const p = problemOf(() => computeSync('trace', { ...body, options: { format } }));
    t.strictSame({ code: p?.code, path: p?.path }, { code: 'NOT_SCALAR', path: '/cotangent' }, `${format} without a cotangent: NOT_SCALAR at /cotangent`);
    const ok = (await compute('trace', { ...body, cotangent: [1, 0], options: { format } })) as Json;
    t.strictSame(ok.value, [-1.5, -2.5], `${format} with a cotangent answers`);
  }
  const bad = problemOf(() => computeSync('trace', { ...LAB, options: { format: 'png' } }));
  t.strictSame({ code: bad?.code, path: bad?.path }, { code: 'INVALID_REQUEST', path: '/options/format' }, 'an unknown format is INVALID_REQUEST');
  t.match(bad?.detail, /"dot", "svg"/, 'naming the formats');
});

t.test('batch in-process: SVG and DOT items next to others', async (t) => {
  const r = (await compute('batch', {
    requests: [
      { endpoint: 'trace', ...LAB, options: { format: 'svg' } },
      { endpoint: 'trace', ...LAB, options: { format: 'dot' } },
      { endpoint: 'trace', ...loop(MAX_PICTURE_STEPS + 1), options: { format: 'svg' } },
      { endpoint: 'grad', ...LAB },
    ],
  })) as { results: Json[] };
  t.match(r.results[0].svg, /^<svg /, 'an SVG item');
  t.match(r.results[1].dot, /^digraph trace \{/, 'a DOT item');
  t.equal((r.results[2].error as Json | undefined)?.code, 'LIMIT_EXCEEDED', 'a picture too large fails its item only');
  t.ok('grad' in r.results[3], 'a grad item');
});

// ---------------------------------------------------------------------------------------------
// Short numbers.

t.test('numbers and tensors in a few characters', (t) => {
  const cases: [unknown, string][] = [
    [0.479425538604203, '0.47943'],
    [5.077582561890373, '5.0776'],
    [2.1, '2.1'],
    [-0.75, '-0.75'],
    [0, '0'],
    [-0, '0'],
    [123456.7, '123460'],
    [123456789, '1.2346e+8'],
    [1e-7, '1e-7'],
    [-0.000012345678, '-1.2346e-5'],
    ['NaN', 'NaN'],
    ['Infinity', '∞'],
    ['-Infinity', '-∞'],
    ['sum', '"sum"'],
    ['a"b\n', '"a\\"b\\n"'],
    [[1, 2], '[2] 1, 2'],
    [[[1, 2], [3, 4], [5, 6]], '[3×2] 1, 2, 3, 4, …'],
    [{ shape: [3, 2], data: [1, 2, 3, 4, 5, 6] }, '[3×2] 1, 2, 3, 4, …'],
    [{ shape: [], data: [7] }, '7'],
    [[], '[0] '],
    [[[1, 'NaN']], '[1×2] 1, NaN'],
  ];
  for (const [v, expected] of cases) t.equal(summarise(v), expected, `${JSON.stringify(v)} → ${expected}`);
  t.equal(formatNumber(Math.PI), '3.1416', 'pi');
  t.end();
});
