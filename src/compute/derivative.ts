/**
 * `derivative`: the symbolic derivative of one scalar expression with respect to one name, by
 * mathjs's `derivative`, simplified, with its TeX. The expression is first parsed by our own
 * parser, so everything a program may not contain is refused the same way.
 */
import { derivative, parse, simplify } from 'mathjs';
import { parseProgram } from '../lang/parse.js';
import { Problem } from './problem.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function derivativeEndpoint(body: unknown, maxProgramLength: number): unknown {
  if (!isObject(body)) throw new Problem('INVALID_REQUEST', 'the request body must be a JSON object', { path: '' });
  for (const key of Object.keys(body)) {
    if (!['program', 'wrt', 'at', 'options'].includes(key)) {
      throw new Problem('INVALID_REQUEST', `unknown field "${key}"; derivative takes program, wrt`, { path: `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}` });
    }
  }
  const { program, wrt } = body;
  if (typeof program !== 'string') throw new Problem('INVALID_REQUEST', '"program" must be one scalar expression, such as "x^2 * sin(x)"', { path: '/program' });
  if (program.length > maxProgramLength) throw new Problem('TOO_LARGE', `the program has ${program.length} characters, over the limit of ${maxProgramLength}`, { path: '/program' });
  if (!Array.isArray(wrt) || wrt.length !== 1 || typeof wrt[0] !== 'string' || !/^[A-Za-z_]\w*$/.test(wrt[0])) {
    throw new Problem('INVALID_REQUEST', '"wrt" must name exactly one variable, as ["x"]', { path: '/wrt' });
  }
  const parsed = parseProgram(program);
  if (parsed.body.length !== 1 || parsed.body[0].kind !== 'expr') {
    throw new Problem('INVALID_ARGUMENT', 'derivative takes one expression, without assignments, blocks or several statements', { path: '/program' });
  }
  let result;
  try {
    result = simplify(derivative(parse(program), wrt[0]));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const fn = /function "([^"]+)"/.exec(message)?.[1];
    throw new Problem(
      'NOT_DIFFERENTIABLE',
      fn === undefined
        ? `mathjs cannot differentiate this expression symbolically (${message}); the grad endpoint differentiates it numerically`
        : `mathjs cannot differentiate \`${fn}\` symbolically; the grad endpoint differentiates it numerically`,
      { path: '/program' },
    );
  }
  return { derivative: result.toString(), tex: result.toTex() };
}
