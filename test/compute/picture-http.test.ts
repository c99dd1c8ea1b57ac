/**
 * Pictures of a trace over HTTP, against the real server: DOT and SVG computed on a worker
 * thread (which loads Graphviz on the first SVG) answer exactly what `compute` answers
 * in-process, with the value every format answers; hostile text stays text; graphs too large
 * to draw get a clean 422 problem and the worker draws the next one; batches and NDJSON streams
 * carry pictures like any other result.
 */
import t from 'tap';
import { compute } from '../../src/index.js';
import { MAX_PICTURE_STEPS } from '../../src/compute/picture.js';
import { assertProblemReply, describe, mediaType, post, send, startServer } from '../server/harness.js';
import { parseDot, svgNodes, xmlProblems } from './picture-helpers.js';

type Json = Record<string, unknown>;

const LAB = { program: 'x*y + sin(x)', at: { x: 0.5, y: 4.2 } };
const loop = (n: number): Json => ({ program: `z = x\nfor i = 1:${n}\n  z = z * x\nend\nz`, at: { x: 1.0001 } });

const server = await startServer(t, { WORKERS: '2' });

t.test('dot and svg of x*y + sin(x) over HTTP: what compute answers in-process', async (t) => {
  for (const format of ['dot', 'svg']) {
    const body = { ...LAB, options: { format } };
    const reply = await post(server.base, 'trace', body);
    t.equal(reply.status, 200, `${format}: 200`, { got: describe(reply) });
    t.equal(mediaType(reply), 'application/json', `${format}: application/json`);
    t.strictSame(reply.json, await compute('trace', body), `${format}: the body is compute's`);
  }
  const dot = ((await post(server.base, 'trace', { ...LAB, options: { format: 'dot' } })).json as { dot: string }).dot;
  const graph = await parseDot(dot);
  t.strictSame([...graph.nodes.keys()].sort(), ['v1', 'v2', 'v3', 'x', 'y'], 'the DOT parses: nodes x, y, v1, v2, v3');
  t.strictSame(graph.nodes.get('v1')?.lines, ['v1 = multiply(x, y)', 'value 2.1', 'tangent 4.2', 'adjoint 1'], 'v1 with its value, tangent and adjoint');
  t.strictSame(graph.nodes.get('x')?.lines, ['x (input)', 'value 0.5', 'tangent 1', 'adjoint 5.0776'], 'x: adjoint y + cos x');

  const svg = ((await post(server.base, 'trace', { ...LAB, options: { format: 'svg' } })).json as { svg: string }).svg;
  t.strictSame(xmlProblems(svg), [], 'the SVG is well-formed XML');
  t.match(svg, /^<svg /, 'from the <svg> element on');
  const nodes = svgNodes(svg);
  t.strictSame([...nodes.keys()].sort(), ['v1', 'v2', 'v3', 'x', 'y'], 'a <g> per node');
  t.strictSame(nodes.get('v3'), ['v3 = add(v1, v2)', 'value 2.5794', 'tangent 5.0776', 'adjoint 1', 'output'], 'the output drawn and marked');
});

t.test('every format answers the same value over HTTP', async (t) => {
  const cases: { name: string; body: Json }[] = [
    { name: 'x*y + sin(x)', body: LAB },
    { name: 'a seeded draw', body: { program: 'z = rsample(normal(mu, 2)); z^2', at: { mu: 1 }, seed: 3 } },
    { name: 'a matrix program', body: { program: 'A = [x, 2; y, x * y]\nsum(A * [x; 1]) + det(A)', at: { x: 0.5, y: 4.2 } } },
  ];
  for (const c of cases) {
    const replies = await Promise.all(['table', 'graph', 'dot', 'svg'].map((format) => post(server.base, 'trace', { ...c.body, options: { format } })));
    const values = replies.map((r) => (r.json as Json).value);
    t.ok(replies.every((r) => r.status === 200), `${c.name}: every format 200`, { got: replies.map(describe) });
    t.ok(values.every((v) => JSON.stringify(v) === JSON.stringify(values[0])), `${c.name}: table, graph, dot and svg answer ${JSON.stringify(values[0])}`, { values });
    t.strictSame(replies.map((r) => (r.json as Json).seed), replies.map(() => c.body.seed), `${c.name}: each reports the seed, if any`);
  }
});

t.test('a string option and names that mean something in DOT stay text over HTTP', async (t) => {
  const body = { program: 'mse_loss(node, edge, "sum") + graph * strict', at: { node: [1, 2], edge: [0.5, 2.5], graph: 2, strict: 3 } };
  const reply = await post(server.base, 'trace', { ...body, options: { format: 'svg' } });
  t.equal(reply.status, 200, '200', { got: describe(reply) });
  const svg = (reply.json as { svg: string }).svg;
  t.strictSame(xmlProblems(svg), [], 'well-formed XML');
  const nodes = svgNodes(svg);
  t.strictSame([...nodes.keys()].sort(), ['c1', 'edge', 'graph', 'node', 'strict', 'v1', 'v2', 'v3'], 'inputs node, edge, graph and strict, three steps and the constant');
  t.equal(nodes.get('v1')?.[0], 'v1 = mse_loss(node, edge, "sum")', 'the option drawn as a quoted string');
  t.strictSame(nodes.get('c1'), ['"sum"'], 'and as its constant');
});

t.test('a graph too large to draw: a clean 422, and the worker draws the next picture', async (t) => {
  const cases: { name: string; body: Json; detail: RegExp }[] = [
    { name: `dot of ${MAX_PICTURE_STEPS + 1} steps`, body: { ...loop(MAX_PICTURE_STEPS + 1), options: { format: 'dot' } }, detail: /steps, over the 500 a picture draws/ },
    { name: `svg of ${MAX_PICTURE_STEPS + 1} steps`, body: { ...loop(MAX_PICTURE_STEPS + 1), options: { format: 'svg' } }, detail: /steps, over the 500 a picture draws/ },
    { name: 'svg of a loop whose edges cross too many layers', body: { ...loop(300), options: { format: 'svg' } }, detail: /layers in all, over the 20000.*format "dot"/ },
  ];
  for (const c of cases) {
    const reply = await post(server.base, 'trace', c.body);
    assertProblemReply(t, c.name, reply, { status: 422, code: 'LIMIT_EXCEEDED', limit: 'picture size', detail: [c.detail] });
    t.ok(reply.elapsedMs < 5000, `${c.name}: refused in ${Math.round(reply.elapsedMs)} ms`);
  }
  const dot = await post(server.base, 'trace', { ...loop(300), options: { format: 'dot' } });
  t.equal(dot.status, 200, 'the loop of 300 steps as DOT: 200');
  const next = await post(server.base, 'trace', { ...loop(40), options: { format: 'svg' } });
  t.equal(next.status, 200, 'a loop of 40 steps as SVG afterwards: 200', { got: describe(next) });
  t.equal(svgNodes((next.json as { svg: string }).svg).size, 41, 'x and 40 steps drawn');
});

t.test('concurrent SVG requests: every worker loads Graphviz once and draws the same picture', async (t) => {
  const replies = await Promise.all(Array.from({ length: 6 }, () => post(server.base, 'trace', { ...LAB, options: { format: 'svg' } })));
  t.ok(replies.every((r) => r.status === 200), 'six 200s', { got: replies.map(describe) });
  t.equal(new Set(replies.map((r) => r.text)).size, 1, 'six identical answers');
});

t.test('pictures in a batch and in an NDJSON stream', async (t) => {
  const batch = await post(server.base, 'batch', {
    requests: [
      { endpoint: 'trace', ...LAB, options: { format: 'svg' } },
      { endpoint: 'trace', ...LAB, options: { format: 'dot' } },
      { endpoint: 'trace', ...loop(MAX_PICTURE_STEPS + 1), options: { format: 'svg' } },
    ],
  });
  t.equal(batch.status, 200, 'batch: 200');
  const [svg, dot, tooLarge] = (batch.json as { results: Json[] }).results;
  t.strictSame(xmlProblems(String(svg.svg)), [], 'an SVG item, well-formed');
  t.match(dot.dot, /^digraph trace \{/, 'a DOT item');
  t.strictSame({ code: (tooLarge.error as Json | undefined)?.code, limit: (tooLarge.error as Json | undefined)?.limit }, { code: 'LIMIT_EXCEEDED', limit: 'picture size' }, 'a picture too large fails its item only');

  const stream = await send(server.base, '/v1/trace', { body: { ...LAB, options: { format: 'svg' } }, headers: { accept: 'application/x-ndjson' } });
  t.equal(mediaType(stream), 'application/x-ndjson', 'streamed as NDJSON');
  const lines = stream.text.trim().split('\n').map((line) => JSON.parse(line) as Json);
  t.equal(lines.at(-1)?.type, 'result', 'ends with the result');
  t.match(lines.at(-1)?.svg, /^<svg /, 'which carries the SVG');
});
