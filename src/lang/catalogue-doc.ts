/** The catalogue as a Markdown table: docs/functions.md is this text (a test keeps them equal). */
import { catalogue, constants } from './catalogue.js';

export function catalogueMarkdown(): string {
  const arity = ([min, max]: readonly [number, number]): string => (min === max ? `${min}` : max === Infinity ? `${min}+` : `${min}–${max}`);
  const rows = catalogue()
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((f) => `| \`${f.name}\` | ${arity(f.arity)} | ${f.differentiable ? 'yes' : 'no'} | ${f.description.replace(/\|/g, '\\|')} |`);
  return [
    '# Functions',
    '',
    'Every function a program or an expression graph may call. Generated from `src/lang/catalogue.ts`',
    '(`npm run docs`); `GET /v1/functions` serves the same list. Operators are the functions of their',
    'mathjs names: `+` is `add`, `*` is `multiply`, `.*` is `dotMultiply`, `\'` is `ctranspose`, `-x` is',
    '`unaryMinus`, `x[i]` is `subset`, `[a, b]` is `stack`. Dimensions and positions are 1-based.',
    '',
    '| name | arguments | differentiable | description |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    `Constants: ${Object.keys(constants).map((c) => `\`${c}\``).join(', ')}.`,
    '',
  ].join('\n');
}
