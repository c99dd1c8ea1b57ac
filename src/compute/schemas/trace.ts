import { computeResponse, request, scalarInputs, tensorMap, type EndpointSchema } from './shared.js';

/** An argument of a trace step: an input's name, an earlier step's id, or a constant. */
const traceArgument = {
  anyOf: [
    { type: 'string', description: 'An input or an earlier step.' },
    { type: 'object', required: ['const'], additionalProperties: false, properties: { const: { description: 'A constant: a tensor or a string.' } } },
  ],
};

/** `trace` with format "dot" of x * y + sin(x): exactly what the server answers. */
const traceDotExample = [
  'digraph trace {',
  '  graph [rankdir=LR, fontname="Helvetica,Arial,sans-serif", nodesep=0.3, ranksep=0.4];',
  '  node [fontname="Helvetica,Arial,sans-serif", fontsize=11, shape=box, style="rounded,filled", fillcolor="#ffffff", margin="0.2,0.08"];',
  '  edge [fontname="Helvetica,Arial,sans-serif", color="#555555", arrowsize=0.7];',
  '  "x" [label="x (input)\\nvalue 0.5\\ntangent 1\\nadjoint 5.0776", shape=ellipse, fillcolor="#dbe9f6"];',
  '  "y" [label="y (input)\\nvalue 4.2\\ntangent 0\\nadjoint 0.5", shape=ellipse, fillcolor="#dbe9f6"];',
  '  "v1" [label="v1 = multiply(x, y)\\nvalue 2.1\\ntangent 4.2\\nadjoint 1"];',
  '  "v2" [label="v2 = sin(x)\\nvalue 0.47943\\ntangent 0.87758\\nadjoint 1"];',
  '  "v3" [label="v3 = add(v1, v2)\\nvalue 2.5794\\ntangent 5.0776\\nadjoint 1\\noutput", peripheries=2, penwidth=1.5, fillcolor="#fff3c4"];',
  '  "x" -> "v1";',
  '  "y" -> "v1";',
  '  "x" -> "v2";',
  '  "v1" -> "v3";',
  '  "v2" -> "v3";',
  '}',
  '',
].join('\n');

/** The `trace` endpoint's schema: the Wengert list of an evaluation, or a picture of it (SPEC.md section 3). */
export const traceSchema: EndpointSchema = {
  summary: 'The Wengert list of an evaluation, or the program as a graph',
  body: request(
    'A program or graph; tangents (default: a unit tangent along the first input) and a cotangent for a non-scalar output.',
    { tangents: tensorMap, cotangent: { $ref: 'Tensor#' } },
    {
      format: {
        type: 'string',
        enum: ['table', 'graph', 'dot', 'svg'],
        description:
          'The Wengert list (default), an expression graph, or a picture of the computational graph: "dot" its Graphviz source, "svg" drawn by Graphviz on the server. ' +
          'A picture draws at most 500 steps and 2000 arguments, and an SVG a graph whose edges cross at most 20,000 layers in all; a larger one is 422 LIMIT_EXCEEDED (limit "picture size").',
      },
    },
  ),
  response: {
    description:
      'format "table": the inputs and the steps with their values, tangents and adjoints; format "graph": the steps as an expression graph; ' +
      'format "dot" or "svg": the computational graph as Graphviz source or as SVG.',
    anyOf: [
      computeResponse(
        'The Wengert list: an argument is an input\'s name, an earlier step\'s id or {"const": value}.',
        {
          value: { $ref: 'Tensor#' },
          inputs: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name', 'value', 'tangent', 'adjoint'],
              additionalProperties: false,
              properties: { name: { type: 'string' }, value: { $ref: 'Tensor#' }, tangent: { $ref: 'Tensor#' }, adjoint: { $ref: 'Tensor#' } },
            },
          },
          steps: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'op', 'args', 'value', 'tangent', 'adjoint'],
              additionalProperties: false,
              properties: {
                id: { type: 'string' },
                op: { type: 'string' },
                args: { type: 'array', items: traceArgument },
                value: { $ref: 'Tensor#' },
                tangent: { $ref: 'Tensor#' },
                adjoint: { $ref: 'Tensor#' },
              },
            },
          },
          output: traceArgument,
        },
        ['value', 'inputs', 'steps', 'output'],
      ),
      computeResponse('The expression graph: it evaluates to the same value.', { value: { $ref: 'Tensor#' }, graph: { $ref: 'Graph#' } }, ['value', 'graph']),
      computeResponse(
        'The computational graph as Graphviz DOT source (render it with `dot -Tsvg`): a node per input and per step, labelled with its operation or name, value, ' +
          'tangent and adjoint (5 significant digits; a tensor as its shape and first elements); constants as small nodes; the output with a double border.',
        { value: { $ref: 'Tensor#' }, dot: { type: 'string' } },
        ['value', 'dot'],
      ),
      computeResponse('The same graph drawn by Graphviz: an SVG document, from its <svg> element on.', { value: { $ref: 'Tensor#' }, svg: { type: 'string' } }, ['value', 'svg']),
    ],
  },
  examples: {
    table: {
      summary: 'The Wengert list, with tangents along x and adjoints of the output',
      request: { program: 'x * y + sin(x)', at: scalarInputs },
      response: {
        value: 2.579425538604203,
        inputs: [
          { name: 'x', value: 0.5, tangent: 1, adjoint: 5.077582561890373 },
          { name: 'y', value: 4.2, tangent: 0, adjoint: 0.5 },
        ],
        steps: [
          { id: 'v1', op: 'multiply', args: ['x', 'y'], value: 2.1, tangent: 4.2, adjoint: 1 },
          { id: 'v2', op: 'sin', args: ['x'], value: 0.479425538604203, tangent: 0.8775825618903728, adjoint: 1 },
          { id: 'v3', op: 'add', args: ['v1', 'v2'], value: 2.579425538604203, tangent: 5.077582561890373, adjoint: 1 },
        ],
        output: 'v3',
      },
    },
    constant: {
      summary: 'A constant argument',
      request: { program: 'x * 2 + y', at: scalarInputs },
      response: {
        value: 5.2,
        inputs: [
          { name: 'x', value: 0.5, tangent: 1, adjoint: 2 },
          { name: 'y', value: 4.2, tangent: 0, adjoint: 1 },
        ],
        steps: [
          { id: 'v1', op: 'multiply', args: ['x', { const: 2 }], value: 1, tangent: 2, adjoint: 1 },
          { id: 'v2', op: 'add', args: ['v1', 'y'], value: 5.2, tangent: 2, adjoint: 1 },
        ],
        output: 'v2',
      },
    },
    graph: {
      summary: 'The same program as an expression graph',
      request: { program: 'x * 2 + y', at: scalarInputs, options: { format: 'graph' } },
      response: {
        value: 5.2,
        graph: {
          nodes: [
            { id: 'c1', op: 'const', value: 2 },
            { id: 'v1', op: 'multiply', args: ['x', 'c1'] },
            { id: 'v2', op: 'add', args: ['v1', 'y'] },
          ],
          output: 'v2',
        },
      },
    },
    dot: {
      summary: 'The computational graph as Graphviz source, each node with its value, tangent and adjoint',
      request: { program: 'x * y + sin(x)', at: scalarInputs, options: { format: 'dot' } },
      response: { value: 2.579425538604203, dot: traceDotExample },
    },
    svg: {
      summary: 'The same graph drawn as SVG (abridged)',
      description: 'Abridged: the response is the whole SVG document.',
      request: { program: 'x * y + sin(x)', at: scalarInputs, options: { format: 'svg' } },
      abridged: true,
      response: {
        value: 2.579425538604203,
        svg: '<svg width="419pt" height="212pt"\n viewBox="0.00 0.00 419.00 212.00" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">\n<g id="graph0" class="graph"…',
      },
    },
  },
};
