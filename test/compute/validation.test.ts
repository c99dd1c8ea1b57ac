/**
 * Validation of request bodies in the library (what WebSocket messages and batch items get,
 * past no schema): the limits on inputs and on an answer's trace, names as the program parser
 * has them, options each endpoint takes and no other, numbers that overflow float64, a numeric
 * answer at the single point of `points`, and the warning of a gradient through `sample`.
 */
import t from 'tap';
import { parse } from 'mathjs';
import { endpointOptions } from '../../src/compute/compute.js';
import { DEFAULT_LIMITS, computeSync } from '../../src/index.js';
import { isName } from '../../src/compute/request.js';
import { endpointSchemas } from '../../src/compute/schemas/index.js';
import { assertProblem, outcomeOf, type ExpectedProblem } from '../helpers.js';

const tooLarge = (path: string, ...detail: RegExp[]): ExpectedProblem => ({ status: 413, code: 'TOO_LARGE', path, detail });
const invalid = (path: string, ...detail: RegExp[]): ExpectedProblem => ({ status: 400, code: 'INVALID_REQUEST', path, detail });

/** {x0: 0, x1: 1, ...}: n inputs. */
const inputs = (n: number, prefix = 'x'): Record<string, number> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, i]));
/** n trace entries, the first the right tangent of v1 = x * y at x = 0.5, y = 4.2. */
const traceEntries = (n: number): Record<string, unknown>[] => Array.from({ length: n }, (_, i) => ({ id: `v${(i % 3) + 1}`, tangent: 4.2 }));

t.test('the number of inputs and of trace entries is limited: 413 with the path; at the limit the request is answered', async (t) => {
  const limits = { maxInputs: 5, maxTraceEntries: 4 };
  const cases: { name: string; endpoint: string; body: unknown; expected: ExpectedProblem }[] = [
    { name: '"at" over MAX_INPUTS', endpoint: 'grad', body: { program: 'x0', at: inputs(6) }, expected: tooLarge('/at', /6 inputs/, /limit of 5/) },
    { name: '"at" over MAX_INPUTS on eval', endpoint: 'eval', body: { program: 'x0', at: inputs(6) }, expected: tooLarge('/at', /6 inputs/) },
    { name: 'optimize params and data over MAX_INPUTS', endpoint: 'optimize', body: { program: 'x0^2', params: { x0: 1 }, at: inputs(5, 'd'), optimizer: { name: 'sgd' }, steps: 1 }, expected: tooLarge('/at', /6 inputs/) },
    { name: 'a check answer\'s gradient over MAX_INPUTS', endpoint: 'check', body: { program: 'x0', at: { x0: 1 }, answer: { grad: inputs(6) } }, expected: tooLarge('/answer/grad', /6 inputs/) },
    { name: 'a check point over MAX_INPUTS', endpoint: 'check', body: { program: 'x0', points: [inputs(6)], answer: { value: 'x0' } }, expected: tooLarge('/points/0', /6 inputs/) },
    {
      name: 'check points naming more than MAX_INPUTS inputs in all',
      endpoint: 'check',
      body: { program: 'x0', points: [inputs(4, 'a'), inputs(4, 'b')], answer: { value: '0' } },
      expected: tooLarge('/points', /more than 5 inputs/),
    },
    { name: 'random ranges over MAX_INPUTS', endpoint: 'check', body: { program: 'x0', random: { n: 2, ranges: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`x${i}`, [0, 1]])) }, answer: { value: 'x0' } }, expected: tooLarge('/random/ranges', /6 inputs/) },
    { name: 'a trace over MAX_TRACE_ENTRIES', endpoint: 'check', body: { program: 'x * y', at: { x: 0.5, y: 4.2 }, answer: { trace: traceEntries(5) } }, expected: tooLarge('/answer/trace', /5 entries/, /limit of 4/) },
  ];
  for (const c of cases) assertProblem(t, c.name, outcomeOf(() => computeSync(c.endpoint, c.body, { limits })), c.expected);

  t.match(computeSync('grad', { program: 'x0 + x4', at: inputs(5) }, { limits }), { value: 4, grad: { x0: 1, x4: 1 } }, 'MAX_INPUTS inputs are answered');
  t.match(computeSync('check', { program: 'x * y', at: { x: 0.5, y: 4.2 }, answer: { trace: traceEntries(4) } }, { limits }), { trace: { graded: 4 } }, 'MAX_TRACE_ENTRIES entries are graded');
});

t.test('at the default limits validation is linear: the largest bodies are answered promptly', async (t) => {
  // Before: 10,000 trace entries took 0.55 s, 30,000 3.2 s (every entry against every step and field).
  const cases: { name: string; endpoint: string; body: unknown; limits?: Record<string, number>; check: (result: Record<string, unknown>) => boolean }[] = [
    {
      // Quadratic, 40,000 entries took about 6 s.
      name: '40,000 trace entries (the limit raised)',
      endpoint: 'check',
      body: { program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2 }, answer: { trace: traceEntries(40_000) } },
      limits: { maxTraceEntries: 40_000 },
      check: (r) => (r.trace as { graded: number }).graded === 40_000,
    },
    {
      name: `${DEFAULT_LIMITS.maxTraceEntries} trace entries`,
      endpoint: 'check',
      body: { program: 'x * y + sin(x)', at: { x: 0.5, y: 4.2 }, answer: { trace: traceEntries(DEFAULT_LIMITS.maxTraceEntries) } },
      check: (r) => (r.trace as { graded: number }).graded === DEFAULT_LIMITS.maxTraceEntries,
    },
    { name: `${DEFAULT_LIMITS.maxInputs} inputs`, endpoint: 'grad', body: { program: 'x0 * x999', at: inputs(DEFAULT_LIMITS.maxInputs) }, check: (r) => (r.grad as Record<string, number>).x999 === 0 },
    { name: `${DEFAULT_LIMITS.maxInputs} inputs of a trace`, endpoint: 'trace', body: { program: 'x0 * x999', at: inputs(DEFAULT_LIMITS.maxInputs) }, check: (r) => (r.steps as unknown[]).length === 1 },
  ];
  for (const c of cases) {
    const start = performance.now();
    const result = computeSync(c.endpoint, c.body, { limits: c.limits }) as Record<string, unknown>;
    const ms = performance.now() - start;
    t.ok(c.check(result), `${c.name}: answered`);
    t.ok(ms < 2000, `${c.name}: answered in ${ms.toFixed(0)} ms (a generous bound: it took seconds when quadratic)`);
  }
});

t.test('an input name is a name as the program parser has it: mathjs\'s isAlpha and isDigit', async (t) => {
  // Every code unit alone, and every mathematical alphanumeric symbol (a surrogate pair after \uD835).
  const disagreements: string[] = [];
  const agree = (name: string, parserSays: boolean): void => {
    if (isName(name) !== parserSays && disagreements.length < 10) disagreements.push(`${JSON.stringify(name)}: isName ${isName(name)}, mathjs ${parserSays}`);
  };
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const ch = String.fromCharCode(c);
    agree(ch, parse.isAlpha(ch, '', ''));
    agree(`a${ch}`, parse.isAlpha(ch, 'a', '') || parse.isDigit(ch));
  }
  for (let low = 0xdc00; low <= 0xdfff; low++) {
    const pair = `\uD835${String.fromCharCode(low)}`;
    agree(pair, parse.isAlpha('\uD835', '', pair[1]) && parse.isAlpha(pair[1], '\uD835', ''));
  }
  t.strictSame(disagreements, [], 'the same letters and digits as mathjs\'s parser');
  t.notOk(isName('1x'), 'a name does not start with a digit');
  t.notOk(isName(''), 'nor is it empty');

  const cases: { name: string; endpoint: string; body: Record<string, unknown>; ascii: Record<string, unknown> }[] = [
    { name: 'at and wrt', endpoint: 'grad', body: { program: 'é * sin(α)', at: { é: 2, α: 0.5 }, wrt: ['α'] }, ascii: { program: 'e1 * sin(a)', at: { e1: 2, a: 0.5 }, wrt: ['a'] } },
    { name: 'output', endpoint: 'eval', body: { program: 'λ = x^2\nλ + 1', at: { x: 3 }, output: 'λ' }, ascii: { program: 'l = x^2\nl + 1', at: { x: 3 }, output: 'l' } },
    {
      name: 'graph ids',
      endpoint: 'grad',
      body: { graph: { nodes: [{ id: 'σ', op: 'sin', args: ['θ'] }, { id: 'ω', op: 'multiply', args: ['σ', 'θ'] }], output: 'ω' }, at: { θ: 0.5 } },
      ascii: { graph: { nodes: [{ id: 's', op: 'sin', args: ['t'] }, { id: 'w', op: 'multiply', args: ['s', 't'] }], output: 'w' }, at: { t: 0.5 } },
    },
    { name: 'a check point', endpoint: 'check', body: { program: 'μ^2', points: [{ μ: 3 }], answer: { grad: { μ: '2*μ' } } }, ascii: { program: 'm^2', points: [{ m: 3 }], answer: { grad: { m: '2*m' } } } },
    { name: 'derivative', endpoint: 'derivative', body: { program: 'α^3', wrt: ['α'] }, ascii: { program: 'a^3', wrt: ['a'] } },
  ];
  for (const c of cases) {
    const unicode = JSON.stringify(computeSync(c.endpoint, c.body));
    const plain = JSON.stringify(computeSync(c.endpoint, c.ascii));
    const rename = (s: string): string => s.replace(/é/g, 'e1').replace(/[αθ]/g, (m) => (m === 'α' ? 'a' : 't')).replace(/λ/g, 'l').replace(/σ/g, 's').replace(/ω/g, 'w').replace(/μ/g, 'm');
    t.equal(rename(unicode), plain, `${c.name}: the same answer as with ASCII names`);
  }
  assertProblem(t, 'a name with a space', outcomeOf(() => computeSync('eval', { program: '1', at: { 'a b': 1 } })), invalid('/at/a b', /not a valid input name/, /α/));
});

t.test('options: each endpoint takes its own and the common ones, no other; its schema documents exactly those', async (t) => {
  const bodies: Record<string, Record<string, unknown>> = {
    eval: { program: 'x', at: { x: 1 } },
    grad: { program: 'x', at: { x: 1 } },
    jvp: { program: 'x', at: { x: 1 } },
    jacobian: { program: 'x', at: { x: 1 } },
    hessian: { program: 'x^2', at: { x: 1 } },
    trace: { program: 'x', at: { x: 1 } },
    sample: { program: 'x', at: { x: 1 }, n: 2 },
    check: { program: 'x', at: { x: 1 }, answer: { value: 1 } },
    optimize: { program: 'x^2', params: { x: 1 }, optimizer: { name: 'sgd' }, steps: 1 },
  };
  const valid: Record<string, unknown> = { layout: 'flat', timeoutMs: 5000, mode: 'forward', format: 'graph', samples: false, estimator: 'reparam' };
  for (const [endpoint, body] of Object.entries(bodies)) {
    const known = endpointOptions(endpoint)!;
    const schema = endpointSchemas[endpoint].body as { properties: { options: { properties: Record<string, unknown>; additionalProperties: boolean } } };
    t.strictSame(Object.keys(schema.properties.options.properties).sort(), [...known].sort(), `${endpoint}: the schema's options are the library's`);
    t.equal(schema.properties.options.additionalProperties, false, `${endpoint}: the schema refuses other options`);
    const taken = Object.fromEntries(known.map((k) => [k, valid[k]]));
    t.doesNotThrow(() => computeSync(endpoint, { ...body, options: taken }), `${endpoint}: takes ${known.join(', ')}`);
    for (const other of Object.keys(valid).filter((k) => !known.includes(k))) {
      assertProblem(t, `${endpoint} with options.${other}`, outcomeOf(() => computeSync(endpoint, { ...body, options: { [other]: valid[other] } })), invalid(`/options/${other}`, /unknown option/));
    }
    assertProblem(t, `${endpoint} with options.bogus`, outcomeOf(() => computeSync(endpoint, { ...body, options: { bogus: 1 } })), invalid('/options/bogus', /unknown option "bogus"/));
  }
  t.equal(endpointOptions('derivative'), null, 'derivative takes no options');
  assertProblem(t, 'derivative with options', outcomeOf(() => computeSync('derivative', { program: 'x^2', wrt: ['x'], options: {} })), invalid('/options', /unknown field "options"/));
  const { results } = computeSync('batch', { requests: [{ endpoint: 'grad', program: 'x', at: { x: 1 }, options: { bogus: 1 } }] }) as { results: { error?: Record<string, unknown> }[] };
  t.match(results[0].error, { status: 400, code: 'INVALID_REQUEST', path: '/requests/0/options/bogus' }, 'a batch item\'s unknown option');
});

t.test('a number JSON.parse made infinite (1e400 overflows float64) is refused saying so, with its path', async (t) => {
  const cases: { name: string; text: string; expected: ExpectedProblem }[] = [
    { name: '1e400 in a nested array', text: '{"program": "sum(x)", "at": {"x": [1, 2, 1e400]}}', expected: invalid('/at/x/2', /overflows float64/, /"Infinity"/) },
    { name: '-1e400, a scalar', text: '{"program": "x", "at": {"x": -1e400}}', expected: invalid('/at/x', /overflows float64/, /"-Infinity"/) },
    { name: '1e999 in {shape, data}', text: '{"program": "sum(x)", "at": {"x": {"shape": [2], "data": [0, 1e999]}}}', expected: invalid('/at/x/data/1', /overflows float64/) },
    { name: 'in a cotangent', text: '{"program": "x .* [1, 2]", "at": {"x": 1}, "cotangent": [1e400, 0]}', expected: invalid('/cotangent/0', /overflows/) },
  ];
  for (const c of cases) assertProblem(t, c.name, outcomeOf(() => computeSync('grad', JSON.parse(c.text))), c.expected);
  t.match(computeSync('eval', JSON.parse('{"program": "x", "at": {"x": "Infinity"}}')), { value: 'Infinity' }, 'the string "Infinity" is infinity');
  t.match(computeSync('eval', JSON.parse('{"program": "x", "at": {"x": 1e-400}}')), { value: 0 }, 'an underflow is zero, as in float64');
});

t.test('check: a numeric answer (or a trace) with a single point in "points" is compared at that point', async (t) => {
  const program = 'x*y + sin(x)';
  const atPoint = { x: 0.5, y: 4.2 };
  const value = computeSync('eval', { program, at: atPoint }) as { value: number };
  const grad = computeSync('grad', { program, at: atPoint }) as { grad: { x: number; y: number } };
  const cases: { name: string; answer: Record<string, unknown>; at?: Record<string, number>; pass: boolean }[] = [
    { name: 'the right value', answer: { value: value.value }, pass: true },
    { name: 'a wrong value', answer: { value: value.value + 0.1 }, pass: false },
    { name: 'the right gradient', answer: { grad: grad.grad }, pass: true },
    { name: 'the right value, "at" giving other values that the point overrides', answer: { value: value.value }, at: { x: 3, y: 1 }, pass: true },
    { name: 'the right trace, "at" giving other values', answer: { trace: [{ id: 'v1', value: 2.1, tangent: 4.2 }, { id: 'x', adjoint: grad.grad.x }] }, at: { x: 3, y: 1 }, pass: true },
  ];
  for (const c of cases) {
    const result = computeSync('check', { program, ...(c.at === undefined ? {} : { at: c.at }), points: [atPoint], answer: c.answer }) as { pass: boolean; points: number };
    t.strictSame({ pass: result.pass, points: result.points }, { pass: c.pass, points: 1 }, c.name);
  }
  assertProblem(t, 'a number with two points', outcomeOf(() => computeSync('check', { program, points: [atPoint, atPoint], answer: { value: value.value } })), invalid('/points', /a number/, /the 2 points/));
});

t.test('sample: a gradient through sample(...) with no estimator chosen comes with a warning', async (t) => {
  const at = { mu: 0.5, sigma: 1.5 };
  const cases: { name: string; program: string; estimator?: string; warns: RegExp | null }[] = [
    { name: 'sample of normal(mu, sigma)', program: 'z = sample(normal(mu, sigma)); z^2', warns: /sample\(normal\(\.\.\.\)\) at line 1, column 5 carries no gradient.*rsample/ },
    { name: 'sample in a loop, warned once', program: 'for i = 1:3\n  z = sample(normal(mu, 1))\nend\nz + mu', warns: /line 2, column 7/ },
    { name: 'a discrete draw', program: 'sample(bernoulli(sigmoid(mu))) * sigma', warns: /bernoulli has no reparameterised draw: choose options.estimator "score"/ },
    { name: 'rsample', program: 'z = rsample(normal(mu, sigma)); z^2', warns: null },
    { name: 'sample with the estimator "reparam" chosen', program: 'z = sample(normal(mu, sigma)); z^2', estimator: 'reparam', warns: null },
    { name: 'sample with the estimator "score"', program: 'z = sample(normal(mu, sigma)); z^2', estimator: 'score', warns: null },
    { name: 'sample of a distribution that depends on no input', program: 'z = sample(normal(0, 1)); z^2 * mu + sigma', warns: null },
  ];
  for (const c of cases) {
    const options = { samples: false, ...(c.estimator === undefined ? {} : { estimator: c.estimator }) };
    const result = computeSync('sample', { program: c.program, at, n: 8, seed: 3, options }) as { warnings?: string[] };
    if (c.warns === null) t.equal(result.warnings, undefined, `${c.name}: no warning`);
    else {
      t.equal(result.warnings?.length, 1, `${c.name}: one warning`);
      t.match(result.warnings?.[0] ?? '', c.warns, `${c.name}: ${result.warnings?.[0]}`);
    }
  }
});

t.test('trace: step ids avoid input names as before (v_1 when an input is v1), in one pass over the inputs', async (t) => {
  const cases: { at: Record<string, number>; first: string }[] = [
    { at: { x: 1 }, first: 'v1' },
    { at: { x: 1, v1: 2 }, first: 'v_1' },
    { at: { x: 1, v1: 2, v__1: 3 }, first: 'v_1' },
    { at: { x: 1, c2: 2, v_1: 3 }, first: 'v__1' },
  ];
  for (const c of cases) {
    const result = computeSync('trace', { program: 'sin(x)', at: c.at }) as { steps: { id: string }[] };
    t.equal(result.steps[0].id, c.first, `inputs ${Object.keys(c.at).join(', ')}: the first step is ${c.first}`);
  }
});
