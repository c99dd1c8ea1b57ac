/**
 * The elements' attributes read into values (src/widget/attributes.ts): each malformed attribute
 * is an AttributeError naming the attribute with a message a course author can act on.
 */
import t from 'tap';
import { AttributeError, parseChoice, parseInputs, parseNames, parseNumber, parseRanges, propertyName, rangesFor } from '../../src/widget/attributes.js';

t.test('well-formed attributes read as their values', async (t) => {
  t.strictSame(parseInputs('{"x": 0.5, "y": 4.2}'), { x: 0.5, y: 4.2 });
  t.strictSame(parseInputs('{"A": [[1, 2], [3, 4]]}'), { A: [[1, 2], [3, 4]] }, 'a tensor input, held fixed');
  t.strictSame(parseRanges('{"x": [-3, 3]}'), { x: [-3, 3] });
  t.strictSame(parseChoice('mode', 'reverse', ['forwards', 'reverse'], 'forwards'), 'reverse');
  t.equal(parseChoice('mode', null, ['forwards', 'reverse'], 'forwards'), 'forwards', 'absent: the default');
  t.equal(parseNumber('n', '2000', 5000, { min: 1, integer: true }), 2000);
  t.equal(parseNumber('n', null, 5000), 5000);
  t.strictSame(parseNames('wrt', 'x, y', ['x', 'y', 'z']), ['x', 'y']);
  t.equal(parseNames('wrt', '', ['x']), null);
  t.equal(propertyName('api-key'), 'apiKey');
});

t.test('rangesFor: the given range, else ±3 around the value, widened to hold it', async (t) => {
  t.strictSame(rangesFor({ x: 0.5, y: 10, A: [1, 2] }, { x: [-1, 1] }), { x: [-1, 1], y: [-3, 11] }, 'tensor inputs get no slider');
});

t.test('malformed attributes: an AttributeError naming the attribute and saying what to write', async (t) => {
  const cases: [string, () => unknown, string, RegExp][] = [
    ['inputs that is not JSON', () => parseInputs("{x: 0.5}"), 'inputs', /^inputs="\{x: 0\.5\}" is not JSON \(.*\); write it as inputs='\{"x": 0\.5\}'$/],
    ['inputs that is an array', () => parseInputs('[0.5]'), 'inputs', /inputs must be a JSON object of input values/],
    ['an input that is a string', () => parseInputs('{"x": "a"}'), 'inputs', /the value of "x" must be a finite number/],
    ['an input name that is not a name', () => parseInputs('{"2x": 1}'), 'inputs', /"2x" is not an input name/],
    ['a range with lo > hi', () => parseRanges('{"x": [3, -3]}'), 'ranges', /the range of "x" is \[3, -3\], but lo must be less than hi/],
    ['a range with lo = hi', () => parseRanges('{"x": [1, 1]}'), 'ranges', /lo must be less than hi/],
    ['a range of one number', () => parseRanges('{"x": [1]}'), 'ranges', /must be two finite numbers \[lo, hi\]/],
    ['ranges not JSON', () => parseRanges('x: -3..3'), 'ranges', /is not JSON/],
    ['an unknown option', () => parseChoice('mode', 'sideways', ['forwards', 'reverse'], 'forwards'), 'mode', /^mode="sideways" is not an option; use one of "forwards", "reverse"$/],
    ['a number out of range', () => parseNumber('n', '0', 5000, { min: 1, max: 100000, integer: true }), 'n', /^n="0" must be an integer from 1 to 100000$/],
    ['a number that is not one', () => parseNumber('lr', 'fast', 0.1), 'lr', /lr="fast" must be a number/],
    ['wrt naming no input', () => parseNames('wrt', 'z', ['x', 'y']), 'wrt', /"z" is not an input \(the inputs are x, y\)/],
  ];
  for (const [label, read, attribute, message] of cases) {
    try {
      read();
      t.fail(`${label}: no error`);
    } catch (e) {
      t.ok(e instanceof AttributeError, `${label}: an AttributeError`);
      t.equal((e as AttributeError).attribute, attribute, `${label}: names ${attribute}`);
      t.match((e as Error).message, message, `${label}: ${(e as Error).message}`);
    }
  }
});
