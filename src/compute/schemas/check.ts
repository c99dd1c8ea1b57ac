import type { FromSchema } from 'json-schema-to-ts';
import { computeResponse, request, scalarInputs, tensorMap, type EndpointSchema, type References } from './shared.js';

/** An answer to grade: numbers (compared at at) or an expression of the inputs (compared at every point). */
const answerEntry = {
  anyOf: [{ type: 'string', description: 'An expression of the inputs in the program language (a student\'s symbolic answer), compared at every point.' }, { $ref: 'Tensor#' }],
} as const;
const tensorOrNull = { anyOf: [{ $ref: 'Tensor#' }, { type: 'null' }] };
const wrongEntry = {
  expected: { ...tensorOrNull, description: 'The true value (for gradcheck: the central difference).' },
  got: { ...tensorOrNull, description: 'The answer\'s value (for gradcheck: the engine\'s gradient); null when the answer could not be evaluated.' },
  error: { anyOf: [{ $ref: 'Scalar#' }, { type: 'null' }], description: 'The largest |got - expected|; null when got is null or shaped wrong.' },
  reason: { type: 'string', description: 'Why the answer is wrong beyond its numbers: it does not parse, names something unknown, is too long, has the wrong shape, throws, runs over a limit.' },
};
const checkFailure = {
  type: 'object',
  required: ['point', 'quantity', 'expected', 'got', 'error'],
  additionalProperties: false,
  properties: {
    point: { ...tensorMap, description: 'Every input\'s value at the point.' },
    quantity: {
      type: 'string',
      description:
        '"value", "grad.<name>", a trace entry "<id>.<field>", or for gradcheck "grad.<name>[k]" or "jacobian.<name>[i, k]" (flat, 1-based, row-major positions).',
    },
    ...wrongEntry,
    code: { type: 'string', description: 'With reason: the problem code the answer met (PARSE_ERROR, UNKNOWN_NAME, SHAPE_MISMATCH, LIMIT_EXCEEDED, ...).' },
  },
};
const gradeSquare = { program: 'x^2 * sin(x)', random: { n: 50, ranges: { x: [-2, 2] } }, seed: 1 };

export const checkBody = request(
  'A program and an answer to grade, or gradcheck: true. Numbers are compared at at; expressions at every point: at alone, each of points, or random.n points drawn with the seed. ' +
    'A number passes when |got - expected| <= atol + rtol |expected| (NaN matches NaN).',
  {
    answer: {
      type: 'object',
      minProperties: 1,
      additionalProperties: false,
      description: 'Any of value, grad and trace. Whatever is wrong with an answer is graded as wrong, with its reason; the request still succeeds.',
      properties: {
        value: answerEntry,
        grad: { type: 'object', minProperties: 1, additionalProperties: answerEntry, description: 'The gradient with respect to each input named (a vector-Jacobian product with cotangent).' },
        trace: {
          type: 'array',
          minItems: 1,
          description:
            'A student\'s Wengert list: entries {"id", "value"?, "tangent"?, "adjoint"?}, ids as POST /v1/trace names the steps (v1, v2, ...) and inputs by name, tangents along tangents ' +
            '(default: a unit tangent along the first input). Graded at at, in the order the table is filled: values and tangents forwards, then adjoints backwards.',
          items: {
            type: 'object',
            required: ['id'],
            additionalProperties: false,
            properties: { id: { type: 'string' }, value: { $ref: 'Tensor#' }, tangent: { $ref: 'Tensor#' }, adjoint: { $ref: 'Tensor#' } },
          },
        },
      },
    },
    gradcheck: { type: 'boolean', enum: [true], description: 'Instead of an answer: the engine\'s gradient against central differences (eps 1e-6), as PyTorch\'s gradcheck.' },
    points: { type: 'array', minItems: 1, items: { ...tensorMap, title: 'a point' }, description: 'Points {input: value}, each merged over at (at most MAX_CHECK_POINTS, 1000 by default).' },
    random: {
      type: 'object',
      required: ['n', 'ranges'],
      additionalProperties: false,
      description: 'n points drawn uniformly in the ranges with the request\'s seed (the same seed gives the same points); other inputs from at.',
      properties: {
        n: { type: 'integer', description: '1 to MAX_CHECK_POINTS (1000 by default).' },
        ranges: {
          type: 'object',
          minProperties: 1,
          additionalProperties: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 },
          description: '{input: [lo, hi]}; a tensor input in at has each element drawn.',
        },
      },
    },
    rtol: { type: 'number', minimum: 0, description: 'Relative tolerance: 1e-6 by default, 1e-3 for gradcheck (PyTorch\'s).' },
    atol: { type: 'number', minimum: 0, description: 'Absolute tolerance: 1e-9 by default, 1e-5 for gradcheck (PyTorch\'s).' },
    tangents: { ...tensorMap, description: 'For a trace: the tangents of the inputs, as in POST /v1/trace.' },
    cotangent: { $ref: 'Tensor#', description: 'For a non-scalar output: the cotangent of grad answers and of a trace\'s adjoints.' },
  },
);

/** A `check` request, as TypeScript has it (derived from the schema). */
export type CheckRequest = FromSchema<typeof checkBody, References>;

/** `check`: SPEC.md section 3, the autograder's endpoint. */
export const checkSchema: EndpointSchema = {
  summary: 'Grade an answer against the program: a value or gradient (numbers or expressions), a Wengert list, or gradcheck',
  body: checkBody,
  response: computeResponse(
    'The grade: pass, score (the fraction of points passing), points and passed (how many), and at most 10 failures, in order of points.',
    {
      pass: { type: 'boolean' },
      score: { type: 'number', minimum: 0, maximum: 1 },
      points: { type: 'integer', description: 'The number of points graded.' },
      passed: { type: 'integer', description: 'The number of points where everything passed.' },
      failures: { type: 'array', maxItems: 10, items: checkFailure },
      tolerance: { type: 'object', required: ['rtol', 'atol'], additionalProperties: false, properties: { rtol: { type: 'number' }, atol: { type: 'number' } } },
      trace: {
        type: 'object',
        description: 'For a trace: how many entries were graded and were correct, and the first wrong one in the order the table is filled.',
        required: ['graded', 'correct', 'firstWrong'],
        additionalProperties: false,
        properties: {
          graded: { type: 'integer' },
          correct: { type: 'integer' },
          firstWrong: {
            anyOf: [
              { type: 'null' },
              {
                type: 'object',
                required: ['id', 'field', 'expected', 'got', 'error'],
                additionalProperties: false,
                properties: { id: { type: 'string' }, op: { type: 'string' }, field: { type: 'string', enum: ['value', 'tangent', 'adjoint'] }, ...wrongEntry },
              },
            ],
          },
        },
      },
      gradcheck: {
        type: 'object',
        required: ['eps', 'maxError'],
        additionalProperties: false,
        properties: { eps: { type: 'number' }, maxError: { $ref: 'Scalar#', description: 'The largest |analytic - numeric| over the Jacobian entries and points.' } },
      },
    },
    ['pass', 'score', 'points', 'passed', 'failures', 'tolerance'],
  ),
  examples: {
    symbolic: {
      summary: 'A symbolic gradient, right at 50 random points',
      request: { ...gradeSquare, answer: { grad: { x: '2*x*sin(x) + x^2*cos(x)' } } },
      response: { pass: true, score: 1, points: 50, passed: 50, failures: [], tolerance: { rtol: 1e-06, atol: 1e-09 }, seed: 1 },
    },
    wrong: {
      summary: 'A wrong symbolic gradient: the failing points (at most 10) with expected and got',
      request: { ...gradeSquare, random: { n: 3, ranges: { x: [-2, 2] } }, answer: { grad: { x: '2*x*cos(x)' } } },
      response: { pass: false, score: 0, points: 3, passed: 0, failures: [{ point: { x: 1.4275725457346797 }, quantity: 'grad.x', expected: 3.116799181560763, got: 0.4075280598693662, error: 2.709271121691397 }, { point: { x: -1.2948016831059435 }, quantity: 'grad.x', expected: 2.948455050386979, got: -0.7056774637743873, error: 3.6541325141613665 }, { point: { x: -0.5094286952128928 }, quantity: 'grad.x', expected: 0.7234398073001712, got: -0.8894862037264957, error: 1.612926011026667 }], tolerance: { rtol: 1e-06, atol: 1e-09 }, seed: 1 },
    },
    numbers: {
      summary: 'A value and a gradient as numbers, compared at at: the value passes within rtol, the gradient with respect to y does not',
      request: { program: 'x * y + sin(x)', at: scalarInputs, answer: { value: 2.5794, grad: { x: 5.077582561890373, y: 4.2 } }, rtol: 1e-4 },
      response: { pass: false, score: 0, points: 1, passed: 0, failures: [{ point: { x: 0.5, y: 4.2 }, quantity: 'grad.y', expected: 0.5, got: 4.2, error: 3.7 }], tolerance: { rtol: 0.0001, atol: 1e-09 } },
    },
    garbage: {
      summary: 'An answer that does not parse, or calls what a program may not: graded wrong with the reason, not an error',
      request: { program: 'x^2', at: { x: 3 }, answer: { value: 'import("fs")', grad: { x: '2*x +' } } },
      response: { pass: false, score: 0, points: 1, passed: 0, failures: [{ point: { x: 3 }, quantity: 'value', expected: 9, got: null, error: null, reason: 'the answer does not parse: `import` is not available in adjoint programs: it parses, evaluates or configures code at run time, which a program may not do (line 1, column 1)', code: 'PARSE_ERROR' }, { point: { x: 3 }, quantity: 'grad.x', expected: 6, got: null, error: null, reason: 'the answer does not parse: syntax error, unexpected end of expression: the statement ends too early (line 1, column 6)', code: 'PARSE_ERROR' }], tolerance: { rtol: 1e-06, atol: 1e-09 } },
    },
    trace: {
      summary: 'A student\'s forward tangents and reverse adjoints, graded step by step: the first wrong step',
      request: {
        program: 'x * y + sin(x)',
        at: scalarInputs,
        answer: {
          trace: [
            { id: 'v1', tangent: 4.2 },
            { id: 'v2', tangent: 0.8775825618903728 },
            { id: 'v3', tangent: 5.077582561890373, adjoint: 1 },
            { id: 'v2', adjoint: 1 },
            { id: 'v1', adjoint: 1 },
            { id: 'x', adjoint: 4.2 },
          ],
        },
      },
      response: { pass: false, score: 0, points: 1, passed: 0, failures: [{ point: { x: 0.5, y: 4.2 }, quantity: 'x.adjoint', expected: 5.077582561890373, got: 4.2, error: 0.8775825618903728 }], tolerance: { rtol: 1e-06, atol: 1e-09 }, trace: { graded: 7, correct: 6, firstWrong: { id: 'x', op: 'input', field: 'adjoint', expected: 5.077582561890373, got: 4.2, error: 0.8775825618903728 } } },
    },
    gradcheck: {
      summary: 'The engine\'s own gradient against central differences',
      request: { program: 'sum(W * x .^ 2)', at: { W: [[1, 2], [3, 4]], x: [0.5, -1] }, gradcheck: true },
      response: { pass: true, score: 1, points: 1, passed: 1, failures: [], tolerance: { rtol: 0.001, atol: 1e-05 }, gradcheck: { eps: 1e-06, maxError: 6.311893230304122e-10 } },
    },
    badN: {
      summary: 'random.n out of range',
      request: { ...gradeSquare, random: { n: 0, ranges: { x: [-2, 2] } }, answer: { grad: { x: '2*x' } } },
      status: 422,
      response: { type: '/problems/invalid-argument', title: 'Invalid argument', status: 422, detail: '"random.n" must be from 1 to 1000, got 0', code: 'INVALID_ARGUMENT', path: '/random/n' },
    },
  },
};
