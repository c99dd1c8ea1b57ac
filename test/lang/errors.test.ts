/**
 * Every kind of bad request through `compute`, as SPEC.md section 6 types it: the status, the
 * code, a detail a student can act on (what was expected, what was found, the names and shapes
 * involved), and where: line and column in the program, or a JSON pointer into the request.
 */
import * as math from 'mathjs';
import t from 'tap';
import { computeSync, type ComputeLimits, type ProblemCode } from '../../src/index.js';
import { assertProblem, outcomeOf, type ExpectedProblem } from '../helpers.js';

interface ErrorCase {
  name: string;
  endpoint: string;
  body: unknown;
  limits?: ComputeLimits;
  expect: ExpectedProblem;
}

/** A 422 located in the program's text. */
const inProgram = (code: ProblemCode, line: number, column: number, ...detail: RegExp[]): ExpectedProblem => ({ status: 422, code, line, column, detail });
/** A 422 located in the request body. */
const inBody = (code: ProblemCode, path: string, ...detail: RegExp[]): ExpectedProblem => ({ status: 422, code, path, detail });
/** A 400: the request is not of the schema. */
const invalid = (path: string, ...detail: RegExp[]): ExpectedProblem => ({ status: 400, code: 'INVALID_REQUEST', path, detail });
/** A 413: the request is over a size limit. */
const tooLarge = (path: string, ...detail: RegExp[]): ExpectedProblem => ({ status: 413, code: 'TOO_LARGE', path, detail });

const grad = (program: string, at: Record<string, unknown> = { x: 0.5 }, extra: Record<string, unknown> = {}) => ({ program, at, ...extra });

/** A value nested n arrays deep: [[[…1…]]]. */
function nested(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

const graphOf = (nodes: unknown[], output = 'z') => ({ graph: { nodes, output }, at: { x: 0.5, y: 2 } });

const cases: ErrorCase[] = [
  // Syntax: where, what was expected, what was found.
  { name: 'an operator where a value belongs', endpoint: 'grad', body: grad('x +* 2'), expect: inProgram('PARSE_ERROR', 1, 4, /value expected/, /found `\* 2`/) },
  { name: '`**` (not mathjs) on line 2', endpoint: 'grad', body: grad('y = 1\ny = x ** 2'), expect: inProgram('PARSE_ERROR', 2, 7, /`\*\*` is not an operator in mathjs: use `\^`/, /`y = x \^ 2`/) },
  { name: 'the column counts the indentation', endpoint: 'grad', body: grad('y = 1\n  y = x +* 2'), expect: inProgram('PARSE_ERROR', 2, 10, /value expected/) },
  { name: 'the column counts statements before `;`', endpoint: 'grad', body: grad('y = 1; y = x +* 2'), expect: inProgram('PARSE_ERROR', 1, 15, /value expected/) },
  { name: 'an unclosed parenthesis', endpoint: 'grad', body: grad('y = 1\nz = (x + 2'), expect: inProgram('PARSE_ERROR', 2, 11, /parenthesis \) expected/, /ends too early/) },
  { name: 'an unclosed call', endpoint: 'grad', body: grad('sum(x'), expect: inProgram('PARSE_ERROR', 1, 6, /parenthesis \) expected/, /ends too early/) },
  { name: 'an unclosed matrix', endpoint: 'grad', body: grad('y = [1, 2'), expect: inProgram('PARSE_ERROR', 1, 10, /\] expected/, /ends too early/) },
  { name: 'an expression cut short', endpoint: 'grad', body: grad('y = x +\nz = 2'), expect: inProgram('PARSE_ERROR', 1, 8, /unexpected end/, /ends too early/) },
  { name: 'one parenthesis too many', endpoint: 'grad', body: grad('y = 1\n\n   y = sin(x))'), expect: inProgram('PARSE_ERROR', 3, 14, /unexpected operator \)/, /found `\)`/) },
  { name: 'two values side by side', endpoint: 'grad', body: grad('y = 1\n  z = 3 x 4 5'), expect: inProgram('PARSE_ERROR', 2, 13, /unexpected part "5"/, /found `5`/) },
  {
    name: 'matrix rows of different lengths',
    endpoint: 'eval',
    body: grad('A = [1, 2; 3]'),
    expect: { ...inProgram('PARSE_ERROR', 1, 14, /rows of a matrix must have the same length/, /a row of 1 where rows of 2 were expected/), notDetail: [/ends too early/] },
  },
  { name: 'statements separated by `,`', endpoint: 'eval', body: grad('y = 1, z = 2'), expect: inProgram('PARSE_ERROR', 1, 6, /unexpected operator ,/) },

  // Blocks.
  { name: 'a `for` without `end`', endpoint: 'grad', body: grad('for i = 1:3\n  y = i * x'), expect: inProgram('PARSE_ERROR', 1, 1, /`for` block is not closed/, /expected `end`/) },
  {
    name: 'one `end` for two blocks closes the inner one, leaving the `for` open',
    endpoint: 'grad',
    body: grad('for i = 1:3\n  if x > 0\n    y = x\nend'),
    expect: inProgram('PARSE_ERROR', 1, 1, /`for` block is not closed/),
  },
  { name: 'an `if` without `end`, indented', endpoint: 'grad', body: grad('y = 1\n  if x > 0\n    y = x'), expect: inProgram('PARSE_ERROR', 2, 3, /`if` block is not closed/) },
  { name: 'a stray `end`', endpoint: 'grad', body: grad('y = x\nend'), expect: inProgram('PARSE_ERROR', 2, 1, /`end` without a matching `for`, `while` or `if`/) },
  { name: '`else` in a `for`', endpoint: 'grad', body: grad('for i = 1:3\n  y = i\nelse\nend'), expect: inProgram('PARSE_ERROR', 3, 1, /`else` without a matching `if`/) },
  { name: 'a second `else`', endpoint: 'grad', body: grad('if x > 0\n y = 1\nelse\n y = 2\nelse\n y = 3\nend'), expect: inProgram('PARSE_ERROR', 5, 1, /`else` after `else`/) },
  { name: '`break` outside a loop', endpoint: 'grad', body: grad('y = x\nbreak'), expect: inProgram('PARSE_ERROR', 2, 1, /`break` outside a `for` or `while` loop/) },
  { name: '`for` without a loop variable', endpoint: 'grad', body: grad('for 1:3\nend'), expect: inProgram('PARSE_ERROR', 1, 1, /expected `for name = values`/, /for i = 1:10/) },
  { name: '`while` without a condition', endpoint: 'grad', body: grad('while\nend'), expect: inProgram('PARSE_ERROR', 1, 1, /expected a condition after `while`/) },
  { name: 'assigning to the keyword `end`', endpoint: 'grad', body: grad('end = 3'), expect: inProgram('PARSE_ERROR', 1, 1, /after `end`/) },

  // Unknown names, with the closest known name.
  { name: 'a misspelt function: did you mean `sigmoid`?', endpoint: 'grad', body: grad('sigmoud(x)'), expect: inProgram('UNKNOWN_NAME', 1, 1, /unknown function `sigmoud`/, /did you mean `sigmoid`\?/) },
  { name: 'a misspelt function on line 2', endpoint: 'grad', body: grad('y = 2\nz = softplux(x) * y'), expect: inProgram('UNKNOWN_NAME', 2, 5, /unknown function `softplux`/, /did you mean `softplus`\?/) },
  { name: 'a misspelt function inside a loop', endpoint: 'grad', body: grad('for i = 1:2\n  y = logsumexpp(x)\nend'), expect: inProgram('UNKNOWN_NAME', 2, 7, /`logsumexpp`/, /did you mean `logsumexp`\?/) },
  { name: 'a misspelt variable: did you mean the input?', endpoint: 'grad', body: grad('x + yy', { x: 1, y: 2 }), expect: inProgram('UNKNOWN_NAME', 1, 5, /unknown variable `yy`/, /did you mean `y`\?/) },
  { name: 'a variable that is neither an input nor assigned', endpoint: 'grad', body: grad('x * w'), expect: inProgram('UNKNOWN_NAME', 1, 5, /unknown variable `w`/, /"at"/, /assign/) },
  // Located by a plain search: a RegExp made of a name this long is over V8's size for one (was a 500).
  { name: 'an unknown name of 40000 characters', endpoint: 'grad', body: grad(`x + ${'a'.repeat(40_000)}`), expect: inProgram('UNKNOWN_NAME', 1, 5, /unknown variable `a{100}/) },
  { name: 'an unknown function of 40000 characters', endpoint: 'eval', body: grad(`x + ${'f'.repeat(40_000)}(x)`), expect: inProgram('UNKNOWN_NAME', 1, 5, /unknown function `f{100}/) },
  { name: 'a name located as a whole word, not inside a longer one', endpoint: 'grad', body: grad('xw = 1\nxw + w'), expect: inProgram('UNKNOWN_NAME', 2, 6, /unknown variable `w`/) },
  { name: 'an unknown variable in a function body is located in the definition', endpoint: 'grad', body: grad('f(a) = a + q\ny = f(x)'), expect: inProgram('UNKNOWN_NAME', 1, 12, /unknown variable `q`/) },
  { name: 'MATLAB-style indexing with parentheses', endpoint: 'grad', body: grad('x(2)', { x: [1, 2] }), expect: inProgram('UNKNOWN_NAME', 1, 1, /unknown function `x`/, /square brackets/, /x\[/) },
  { name: 'a known function with too many arguments', endpoint: 'grad', body: grad('sin(x, 2)'), expect: inProgram('INVALID_ARGUMENT', 1, 1, /`sin` takes 1 argument, got 2/) },
  { name: 'a program function with too few arguments', endpoint: 'grad', body: grad('f(a, b) = a * b\nf(x)'), expect: inProgram('INVALID_ARGUMENT', 2, 1, /`f` takes 2 argument/, /got 1/) },

  // Shapes: the operation and both shapes.
  { name: 'adding vectors of lengths 3 and 2', endpoint: 'eval', body: grad('[1, 2, 3] + [1, 2]', {}), expect: inProgram('SHAPE_MISMATCH', 1, 1, /add/, /\[3\]/, /\[2\]/, /broadcast/) },
  {
    name: 'a matrix product with inner dimensions 2 and 3',
    endpoint: 'eval',
    body: grad('a = 1\n  b = [1, 2; 3, 4] * [1, 2, 3]', {}),
    expect: inProgram('SHAPE_MISMATCH', 2, 3, /matrix product/, /\[2, 2\]/, /\[3\]/, /2 vs 3/),
  },
  { name: 'element-wise product of [2, 2] and [3]', endpoint: 'eval', body: grad('[1, 2; 3, 4] .* [1, 2, 3]', {}), expect: inProgram('SHAPE_MISMATCH', 1, 1, /mul|dotMultiply/, /\[2, 2\]/, /\[3\]/) },
  { name: 'nested rows of different lengths', endpoint: 'eval', body: grad('[[1, 2], [3]]', {}), expect: inProgram('SHAPE_MISMATCH', 1, 1, /\[2\]/, /\[1\]/) },
  { name: 'a for loop over a matrix', endpoint: 'eval', body: grad('for i = [1, 2; 3, 4]\nend', {}), expect: inProgram('SHAPE_MISMATCH', 1, 1, /for loop/, /vector/, /\[2, 2\]/) },
  { name: 'a cotangent of the wrong shape', endpoint: 'grad', body: grad('x .* [1, 2]', { x: 1 }, { cotangent: [1, 2, 3] }), expect: inBody('SHAPE_MISMATCH', '/cotangent', /"cotangent" has shape \[3\]/, /output has shape \[2\]/) },
  {
    name: 'a cotangent of the wrong shape, forward mode',
    endpoint: 'grad',
    body: grad('x .* [1, 2]', { x: 1 }, { cotangent: [1, 2, 3], options: { mode: 'forward' } }),
    expect: inBody('SHAPE_MISMATCH', '/cotangent', /\[3\]/, /\[2\]/),
  },
  { name: 'a cotangent for an output that ignores the inputs', endpoint: 'grad', body: grad('3', { x: 1 }, { cotangent: [1, 2] }), expect: inBody('SHAPE_MISMATCH', '/cotangent', /\[2\]/, /\[\]/) },
  { name: 'a tangent of the wrong shape', endpoint: 'jvp', body: grad('sum(x)', { x: [1, 2] }, { tangents: { x: [1] } }), expect: inBody('SHAPE_MISMATCH', '/tangents/x', /tangent of "x" has shape \[1\]/, /"x" has shape \[2\]/) },

  // Scalars required.
  {
    name: 'grad of a vector without a cotangent says what to send',
    endpoint: 'grad',
    body: grad('x .* 2', { x: [1, 2] }),
    expect: inBody('NOT_SCALAR', '/cotangent', /grad needs a scalar output/, /shape \[2\]/, /send "cotangent"/, /shaped like the output/),
  },
  { name: 'grad of a vector without a cotangent, forward mode', endpoint: 'grad', body: grad('x .* 2', { x: [1, 2] }, { options: { mode: 'forward' } }), expect: inBody('NOT_SCALAR', '/cotangent', /scalar/, /send "cotangent"/) },
  {
    name: 'hessian of a vector says to make it a scalar (no cotangent to send)',
    endpoint: 'hessian',
    body: grad('x .* 2', { x: [1, 2] }),
    expect: { status: 422, code: 'NOT_SCALAR', detail: [/hessian needs a scalar output/, /shape \[2\]/, /jacobian/], notDetail: [/cotangent/] },
  },
  {
    name: 'an `if` on a vector, under grad: about the condition, not the output',
    endpoint: 'grad',
    body: grad('y = x\nif x > 0\n  y = 2 * x\nend\nsum(y)', { x: [1, 2, 3] }),
    expect: { ...inProgram('NOT_SCALAR', 2, 1, /condition of `if` must be a scalar/, /\[3\]/), notDetail: [/cotangent/] },
  },
  {
    name: 'a `while` on a vector, under hessian: about the condition, not the output',
    endpoint: 'hessian',
    body: grad('while x > 5\n  x = x / 2\nend\nsum(x)', { x: [1, 2, 3] }),
    expect: { ...inProgram('NOT_SCALAR', 1, 1, /condition of `while` must be a scalar/, /\[3\]/), notDetail: [/jacobian/] },
  },
  { name: 'a range ending at a vector', endpoint: 'eval', body: grad('1:x', { x: [1, 2] }), expect: inProgram('NOT_SCALAR', 1, 3, /end of a range must be a scalar/, /\[2\]/) },

  // wrt, tangents and output naming what does not exist.
  { name: '`wrt` naming something that is not an input', endpoint: 'grad', body: grad('x * 2', { x: 1 }, { wrt: ['y'] }), expect: inBody('INVALID_ARGUMENT', '/wrt/0', /"wrt" names "y"/, /not an input/, /the inputs in "at" are x/) },
  { name: '`wrt` with no inputs at all', endpoint: 'grad', body: grad('2', {}, { wrt: ['x'] }), expect: inBody('INVALID_ARGUMENT', '/wrt/0', /not an input/, /"at" gives no inputs/) },
  { name: '`tangents` naming something that is not an input', endpoint: 'jvp', body: grad('x', { x: 1 }, { tangents: { y: 1 } }), expect: inBody('INVALID_ARGUMENT', '/tangents/y', /"y"/, /not an input/) },
  { name: '`output` naming a variable never assigned', endpoint: 'grad', body: grad('y = x', { x: 1 }, { output: 'z' }), expect: inBody('INVALID_ARGUMENT', '/output', /"output" names "z"/, /never assigns/) },

  // mathjs features adjoint does not support: refused with a clear reason, never executed.
  { name: 'a unit: `5 cm`', endpoint: 'eval', body: grad('5 cm', {}), expect: inProgram('UNKNOWN_NAME', 1, 3, /`cm`/, /unit/, /not supported/) },
  { name: 'units in an assignment: `5 cm + 2 inch`', endpoint: 'eval', body: grad('y = 5 cm + 2 inch', {}), expect: inProgram('UNKNOWN_NAME', 1, 7, /`cm`/, /unit/) },
  { name: 'unit conversion with `to`', endpoint: 'eval', body: grad('5 kg to g', {}), expect: inProgram('PARSE_ERROR', 1, 1, /`to`/, /not supported/) },
  { name: '`unit(…)`', endpoint: 'eval', body: grad('unit(5, "cm")', {}), expect: inProgram('PARSE_ERROR', 1, 1, /`unit` is not available/) },
  { name: '`createUnit(…)`', endpoint: 'eval', body: grad('createUnit("snail")', {}), expect: inProgram('PARSE_ERROR', 1, 1, /`createUnit` is not available/) },
  { name: '`import` of an object', endpoint: 'eval', body: grad('import({snail: 1})', {}), expect: inProgram('PARSE_ERROR', 1, 1, /`import` is not available/) },
  { name: '`import` of a module name', endpoint: 'eval', body: grad('import("fs")', {}), expect: inProgram('PARSE_ERROR', 1, 1, /`import` is not available/) },
  { name: '`evaluate`', endpoint: 'eval', body: grad('evaluate("1 + 1")', {}), expect: inProgram('PARSE_ERROR', 1, 1, /`evaluate` is not available/) },
  { name: '`parse`', endpoint: 'eval', body: grad('y = parse("x")', {}), expect: inProgram('PARSE_ERROR', 1, 5, /`parse` is not available/) },
  { name: '`simplify`', endpoint: 'eval', body: grad('simplify("x + x")', {}), expect: inProgram('PARSE_ERROR', 1, 1, /`simplify` is not available/) },
  { name: '`derivative`', endpoint: 'eval', body: grad('derivative("x^2", "x")', {}), expect: inProgram('PARSE_ERROR', 1, 1, /`derivative` is not available/) },
  { name: 'string concatenation', endpoint: 'eval', body: grad('concat("a", "b")', {}), expect: inProgram('INVALID_ARGUMENT', 1, 1, /concat/, /string "a"/, /number or a tensor/) },
  { name: 'adding strings', endpoint: 'eval', body: grad('"abc" + "d"', {}), expect: inProgram('INVALID_ARGUMENT', 1, 1, /add/, /string "abc"/) },
  { name: 'indexing a string', endpoint: 'eval', body: grad('s = "hello"\ns[1]', {}), expect: inProgram('INVALID_ARGUMENT', 2, 1, /string "hello"/) },
  { name: 'a program whose result is a string', endpoint: 'eval', body: grad('"abc"', {}), expect: inBody('INVALID_ARGUMENT', '', /no number or tensor/, /string/) },
  { name: 'an object literal', endpoint: 'eval', body: grad('y = {a: 1}', {}), expect: inProgram('PARSE_ERROR', 1, 1, /objects/, /not supported/) },
  { name: 'property access', endpoint: 'eval', body: grad('x.size', { x: [1, 2] }), expect: inProgram('PARSE_ERROR', 1, 1, /property access/, /not supported/) },
  { name: 'property assignment', endpoint: 'eval', body: grad('y = 1\ny.a = 2', {}), expect: inProgram('PARSE_ERROR', 2, 1, /property assignment/, /not supported/) },
  { name: 'factorial', endpoint: 'eval', body: grad('x!', { x: 3 }), expect: inProgram('PARSE_ERROR', 1, 1, /`!`/, /factorial/, /not supported/) },
  { name: 'assigning to a built-in: `sin = 3`', endpoint: 'eval', body: grad('sin = 3', {}), expect: inProgram('PARSE_ERROR', 1, 1, /cannot assign to `sin`/, /built-in function/) },
  { name: 'redefining a built-in: `sin(x) = x`', endpoint: 'eval', body: grad('sin(x) = x', {}), expect: inProgram('PARSE_ERROR', 1, 1, /cannot assign to `sin`/, /built-in function/) },
  { name: 'assigning to a built-in on line 2', endpoint: 'eval', body: grad('y = 1\nexp = y', {}), expect: inProgram('PARSE_ERROR', 2, 1, /cannot assign to `exp`/) },
  { name: 'assigning to a blocked mathjs function', endpoint: 'eval', body: grad('evaluate = 1', {}), expect: inProgram('PARSE_ERROR', 1, 1, /cannot assign to `evaluate`/) },
  // After an endless loop: a refusal at parse time, so nothing ran (running would trip the loop limit).
  { name: '`import` after an endless loop is refused before running', endpoint: 'eval', body: grad('while 1\nend\nimport({snail: 1})', {}), expect: inProgram('PARSE_ERROR', 3, 1, /`import`/) },
  { name: '`evaluate` after an endless loop is refused before running', endpoint: 'eval', body: grad('while 1\nend\nevaluate("1")', {}), expect: inProgram('PARSE_ERROR', 3, 1, /`evaluate`/) },
  { name: '`createUnit` after an endless loop is refused before running', endpoint: 'eval', body: grad('while 1\nend\ncreateUnit("snail")', {}), expect: inProgram('PARSE_ERROR', 3, 1, /`createUnit`/) },
  { name: '`sin = 3` after an endless loop is refused before running', endpoint: 'eval', body: grad('while 1\nend\nsin = 3', {}), expect: inProgram('PARSE_ERROR', 3, 1, /`sin`/) },

  // Graphs: 422 with a JSON pointer to the node.
  {
    name: 'a graph with a duplicate id',
    endpoint: 'grad',
    body: graphOf([{ id: 'z', op: 'sin', args: ['x'] }, { id: 'z', op: 'cos', args: ['x'] }]),
    expect: inBody('INVALID_ARGUMENT', '/graph/nodes/1/id', /duplicate node id "z"/, /node 0/),
  },
  {
    name: 'a graph with a cycle',
    endpoint: 'grad',
    body: graphOf([{ id: 'z', op: 'sin', args: ['a'] }, { id: 'a', op: 'cos', args: ['z'] }]),
    expect: inBody('INVALID_ARGUMENT', '/graph/nodes/0', /cycle/, /"z"/),
  },
  { name: 'a graph node reading itself', endpoint: 'grad', body: graphOf([{ id: 'z', op: 'sin', args: ['z'] }]), expect: inBody('INVALID_ARGUMENT', '/graph/nodes/0', /cycle/, /"z"/) },
  {
    name: 'a graph with an unknown op',
    endpoint: 'grad',
    body: graphOf([{ id: 'a', op: 'sin', args: ['x'] }, { id: 'z', op: 'sigmod', args: ['a'] }]),
    expect: inBody('UNKNOWN_NAME', '/graph/nodes/1/op', /unknown op "sigmod"/, /did you mean "sigmoid"\?/),
  },
  { name: 'a graph op that is a blocked mathjs function', endpoint: 'grad', body: graphOf([{ id: 'z', op: 'evaluate', args: ['x'] }]), expect: inBody('UNKNOWN_NAME', '/graph/nodes/0/op', /op "evaluate" is not available: it parses, evaluates or configures code/) },
  { name: 'a graph op with too many arguments', endpoint: 'grad', body: graphOf([{ id: 'z', op: 'sin', args: ['x', 'y'] }]), expect: inBody('INVALID_ARGUMENT', '/graph/nodes/0/args', /op "sin" takes 1 argument, got 2/) },
  { name: 'a graph op with too few arguments', endpoint: 'grad', body: graphOf([{ id: 'z', op: 'add', args: ['x'] }]), expect: inBody('INVALID_ARGUMENT', '/graph/nodes/0/args', /op "add" takes 2 arguments, got 1/) },
  { name: 'a graph reading an input not in "at"', endpoint: 'grad', body: graphOf([{ id: 'z', op: 'sin', args: ['w'] }]), expect: inBody('UNKNOWN_NAME', '/graph/nodes/0', /unknown variable `w`/, /"at"/, /make it a node/) },
  { name: 'a graph whose output is nothing', endpoint: 'grad', body: graphOf([{ id: 'a', op: 'sin', args: ['x'] }], 'zz'), expect: inBody('UNKNOWN_NAME', '/graph/output', /`zz`/) },
  {
    name: 'a graph whose shapes do not broadcast',
    endpoint: 'eval',
    body: { graph: { nodes: [{ id: 'z', op: 'add', args: ['x', 'c'] }, { id: 'c', op: 'const', value: [1, 2, 3] }], output: 'z' }, at: { x: [1, 2] } },
    expect: inBody('SHAPE_MISMATCH', '/graph/nodes/0', /add/, /\[2\]/, /\[3\]/),
  },

  // Requests that are not of the schema: 400 with a JSON pointer.
  { name: 'a body that is a string', endpoint: 'grad', body: 'x * 2', expect: invalid('', /must be a JSON object/) },
  { name: 'a body that is null', endpoint: 'grad', body: null, expect: invalid('', /must be a JSON object/) },
  { name: 'a body that is an array', endpoint: 'grad', body: [1], expect: invalid('', /must be a JSON object/) },
  { name: 'both program and graph', endpoint: 'grad', body: { program: 'x', graph: { nodes: [], output: 'x' }, at: { x: 1 } }, expect: invalid('', /exactly one of "program" or "graph"/) },
  { name: 'neither program nor graph', endpoint: 'grad', body: { at: { x: 1 } }, expect: invalid('', /exactly one of "program" or "graph"/) },
  { name: 'a program that is not a string', endpoint: 'grad', body: { program: 42, at: {} }, expect: invalid('/program', /"program" must be a string/) },
  { name: 'an unknown field', endpoint: 'grad', body: grad('x', { x: 1 }, { foo: 1 }), expect: invalid('/foo', /unknown field "foo"/, /program, graph, at/) },
  { name: 'an unknown field whose name needs escaping in the pointer', endpoint: 'grad', body: grad('x', { x: 1 }, { 'a/b~c': 1 }), expect: invalid('/a~1b~0c', /unknown field "a\/b~c"/) },
  { name: 'a field of another endpoint', endpoint: 'eval', body: grad('x', { x: 1 }, { cotangent: 1 }), expect: invalid('/cotangent', /unknown field "cotangent"/) },
  { name: '"at" that is not an object', endpoint: 'grad', body: { program: 'x', at: [1] }, expect: invalid('/at', /"at" must be an object/) },
  { name: 'an input name that is not a name', endpoint: 'grad', body: grad('x', { 'x/y': 1 }), expect: invalid('/at/x~1y', /"x\/y" is not a valid input name/) },
  { name: 'an input value that is a word', endpoint: 'grad', body: grad('x', { x: 'abc' }), expect: invalid('/at/x', /expected a number/, /"abc"/) },
  { name: 'an input value that is null', endpoint: 'grad', body: grad('x', { x: null }), expect: invalid('/at/x', /expected a number, a nested array or \{"shape", "data"\}/) },
  { name: 'a word inside an input array', endpoint: 'grad', body: grad('sum(x)', { x: [1, 'a'] }), expect: invalid('/at/x/1', /expected a number/, /"a"/) },
  { name: 'a non-rectangular array (short row)', endpoint: 'grad', body: grad('sum(x)', { x: [[1, 2], [3]] }), expect: invalid('/at/x/1', /not rectangular/, /expected 2 entries here, got 1/) },
  { name: 'a non-rectangular array (number for a row)', endpoint: 'grad', body: grad('sum(x)', { x: [[1, 2], 3] }), expect: invalid('/at/x/1', /not rectangular/, /expected an array here/) },
  { name: 'a non-rectangular array (row for a number)', endpoint: 'grad', body: grad('sum(x)', { x: [1, [2]] }), expect: invalid('/at/x/1', /not rectangular/, /too deep/) },
  { name: '{shape, data} with too few numbers', endpoint: 'grad', body: grad('sum(x)', { x: { shape: [2, 2], data: [1, 2, 3] } }), expect: invalid('/at/x/data', /shape \[2, 2\] needs 4 numbers/, /got 3/) },
  { name: '{shape, data} with a negative dimension', endpoint: 'grad', body: grad('sum(x)', { x: { shape: [-1], data: [] } }), expect: invalid('/at/x/shape', /non-negative integers/) },
  { name: 'a cotangent that is a word', endpoint: 'grad', body: grad('x .* [1, 2]', { x: 1 }, { cotangent: 'abc' }), expect: invalid('/cotangent', /expected a number/) },
  { name: 'tangents that are not an object', endpoint: 'jvp', body: grad('x', { x: 1 }, { tangents: [1] }), expect: invalid('/tangents', /"tangents" must be an object/) },
  { name: '"wrt" that is a string', endpoint: 'grad', body: grad('x', { x: 1 }, { wrt: 'x' }), expect: invalid('/wrt', /"wrt" must be a list of input names/) },
  { name: '"wrt" naming an input twice', endpoint: 'grad', body: grad('x', { x: 1 }, { wrt: ['x', 'x'] }), expect: invalid('/wrt', /twice/) },
  { name: '"output" that is not a name', endpoint: 'grad', body: grad('x', { x: 1 }, { output: 3 }), expect: invalid('/output', /"output" must be a variable name/) },
  { name: '"output" with a graph', endpoint: 'grad', body: { ...graphOf([{ id: 'z', op: 'sin', args: ['x'] }]), output: 'z' }, expect: invalid('/output', /"graph.output"/) },
  { name: 'a seed that is not an integer', endpoint: 'grad', body: grad('x', { x: 1 }, { seed: 1.5 }), expect: invalid('/seed', /"seed" must be an integer/) },
  { name: 'options that are not an object', endpoint: 'grad', body: grad('x', { x: 1 }, { options: 'fast' }), expect: invalid('/options', /"options" must be an object/) },
  { name: 'an unknown layout', endpoint: 'grad', body: grad('x', { x: 1 }, { options: { layout: 'wide' } }), expect: invalid('/options/layout', /"nested" or "flat"/) },
  { name: 'an unknown grad mode', endpoint: 'grad', body: grad('x', { x: 1 }, { options: { mode: 'sideways' } }), expect: invalid('/options/mode', /"reverse", "forward"/) },
  { name: 'an unknown jacobian mode', endpoint: 'jacobian', body: grad('x', { x: 1 }, { options: { mode: 'both' } }), expect: invalid('/options/mode', /"reverse", "forward"/) },
  { name: 'a negative timeout', endpoint: 'grad', body: grad('x', { x: 1 }, { options: { timeoutMs: -1 } }), expect: invalid('/options/timeoutMs', /positive number of milliseconds/) },
  { name: 'a timeout that is a string', endpoint: 'grad', body: grad('x', { x: 1 }, { options: { timeoutMs: '50' } }), expect: invalid('/options/timeoutMs', /positive number/) },
  { name: 'a graph that is not an object', endpoint: 'grad', body: { graph: 'x', at: {} }, expect: invalid('/graph', /"graph" must be an object/) },
  { name: 'graph nodes that are not a list', endpoint: 'grad', body: { graph: { nodes: 'x', output: 'z' }, at: {} }, expect: invalid('/graph/nodes', /list of nodes/) },
  { name: 'a graph without an output', endpoint: 'grad', body: { graph: { nodes: [] }, at: {} }, expect: invalid('/graph/output', /"graph.output"/) },
  { name: 'a graph node that is a number', endpoint: 'grad', body: graphOf([{ id: 'z', op: 'sin', args: ['x'] }, 5]), expect: invalid('/graph/nodes/1', /a node must be an object/) },
  { name: 'a graph node id that is not a name', endpoint: 'grad', body: graphOf([{ id: '1z', op: 'sin', args: ['x'] }]), expect: invalid('/graph/nodes/0/id', /must be a name/) },
  { name: 'a graph node without an op', endpoint: 'grad', body: graphOf([{ id: 'z', args: ['x'] }]), expect: invalid('/graph/nodes/0/op', /needs "op"/) },
  { name: 'graph node args that are not a list', endpoint: 'grad', body: graphOf([{ id: 'z', op: 'sin', args: 'x' }]), expect: invalid('/graph/nodes/0/args', /"args" must be a list/) },
  { name: 'a const node without a value', endpoint: 'grad', body: graphOf([{ id: 'z', op: 'const' }]), expect: invalid('/graph/nodes/0/value', /const node needs "value"/) },

  // Over the size limits: 413.
  { name: 'a program over the length limit', endpoint: 'grad', body: grad('x' + '+x'.repeat(50_000)), expect: tooLarge('/program', /100001 characters/, /limit of 100000/) },
  { name: 'a program over a lowered length limit', endpoint: 'grad', body: grad('x + 1'), limits: { maxProgramLength: 3 }, expect: tooLarge('/program', /5 characters/, /limit of 3/) },
  { name: 'an input over the tensor limit', endpoint: 'grad', body: grad('sum(x)', { x: [1, 2, 3, 4, 5] }), limits: { maxTensorElements: 4 }, expect: tooLarge('/at/x', /5 elements/, /limit of 4/) },
  { name: 'a 10^10-element input by {shape, data}', endpoint: 'grad', body: grad('sum(x)', { x: { shape: [100_000, 100_000], data: [] } }), expect: tooLarge('/at/x', /10000000000 elements/) },
  { name: 'a cotangent over the tensor limit', endpoint: 'grad', body: grad('x .* [1, 2]', { x: 1 }, { cotangent: [1, 2, 3, 4, 5] }), limits: { maxTensorElements: 4 }, expect: tooLarge('/cotangent', /5 elements/) },
  { name: 'a tangent over the tensor limit', endpoint: 'jvp', body: grad('x', { x: 1 }, { tangents: { x: [1, 2, 3, 4, 5] } }), limits: { maxTensorElements: 4 }, expect: tooLarge('/tangents/x', /5 elements/) },
  { name: 'a graph const over the tensor limit', endpoint: 'grad', body: graphOf([{ id: 'z', op: 'const', value: [1, 2, 3] }]), limits: { maxTensorElements: 2 }, expect: tooLarge('/graph/nodes/0/value', /3 elements/) },
  { name: 'a graph over the node limit', endpoint: 'grad', body: graphOf([{ id: 'a', op: 'sin', args: ['x'] }, { id: 'z', op: 'sin', args: ['a'] }]), limits: { maxGraphNodes: 1 }, expect: tooLarge('/graph/nodes', /2 nodes/, /limit of 1/) },
  { name: 'an array nested 100,000 deep', endpoint: 'eval', body: grad('x', { x: nested(100_000) }), expect: tooLarge('/at/x', /more than 64 levels deep/) },
  { name: '{shape, data} of rank 65', endpoint: 'eval', body: grad('x', { x: { shape: new Array(65).fill(1), data: [1] } }), expect: tooLarge('/at/x/shape', /rank 65/, /64 dimensions/) },

  // No such endpoint.
  { name: 'an unknown endpoint', endpoint: 'gradient', body: grad('x'), expect: { status: 404, code: 'NOT_FOUND', detail: [/no endpoint "gradient"/, /eval, grad/] } },
];

t.test('every bad request gets its typed problem, with a detail to act on and its location', (t) => {
  for (const c of cases) assertProblem(t, c.name, outcomeOf(() => computeSync(c.endpoint, c.body, { limits: c.limits })), c.expect);
  t.end();
});

t.test('the case names are distinct, so a failure names one case', (t) => {
  t.equal(new Set(cases.map((c) => c.name)).size, cases.length);
  t.end();
});

t.test('refused mathjs features leave mathjs itself untouched', (t) => {
  for (const program of ['createUnit("snail")', 'import({snail: 1})', 'evaluate("snail = 1")']) {
    t.throws(() => computeSync('eval', { program, at: {} }), { code: 'PARSE_ERROR' }, `${program} is refused`);
  }
  t.throws(() => math.evaluate('2 snail'), 'mathjs knows no unit or symbol "snail"');
  t.end();
});
