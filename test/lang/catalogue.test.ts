import { readFileSync } from 'node:fs';
import t from 'tap';
import { catalogueMarkdown } from '../../src/lang/catalogue-doc.js';
import { catalogue } from '../../src/lang/catalogue.js';
import { file } from '../../scripts/paths.js';

t.test('docs/functions.md is the catalogue (run `npm run docs` after changing it)', (t) => {
  t.equal(readFileSync(file('docs/functions.md'), 'utf8'), catalogueMarkdown());
  t.end();
});

t.test('every catalogue entry has a description, a valid arity and a name that is not duplicated', (t) => {
  const names = new Set<string>();
  for (const f of catalogue()) {
    t.notOk(names.has(f.name), `${f.name} is listed once`);
    names.add(f.name);
    t.ok(f.description.length > 3, `${f.name} has a description`);
    t.ok(f.arity[0] >= 0 && f.arity[0] <= f.arity[1], `${f.name} has arity ${f.arity.join('..')}`);
  }
  t.end();
});

t.test('the catalogue holds every function SPEC.md names for this issue', (t) => {
  const required = [
    'sigmoid', 'relu', 'softplus', 'tanh', 'log1p', 'expm1', 'logsumexp', 'softmax', 'log_softmax', 'cross_entropy', 'mse_loss',
    'binary_cross_entropy', 'matmul', 'where', 'clamp', 'stop_gradient', 'det', 'inv', 'solve',
    'add', 'subtract', 'multiply', 'divide', 'pow', 'dotMultiply', 'dotDivide', 'dotPow', 'unaryMinus', 'transpose',
  ];
  const names = new Set(catalogue().map((f) => f.name));
  for (const name of required) t.ok(names.has(name), `${name} is in the catalogue`);
  t.end();
});
