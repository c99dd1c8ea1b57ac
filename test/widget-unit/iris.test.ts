/**
 * The iris data inside the widget (src/widget/iris.ts) is examples/data/iris.csv, row for row;
 * standardised columns have mean 0 and variance 1; the seeded normals are the same each time and
 * look standard normal.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { irisRows, normals, standardised } from '../../src/widget/iris.js';
import { file } from '../../scripts/paths.js';

const SPECIES: Record<string, number> = { setosa: 1, versicolor: 2, virginica: 3 };

t.test('the rows are the CSV', async (t) => {
  const csv = readFileSync(file('examples/data/iris.csv'), 'utf8').trim().split('\n').slice(1);
  const { features, labels } = irisRows();
  t.equal(features.length, csv.length, `${csv.length} rows`);
  csv.forEach((line, i) => {
    const fields = line.split(',');
    if (features[i].some((v, j) => v !== Number(fields[j])) || labels[i] !== SPECIES[fields[4]]) t.fail(`row ${i + 1}: ${line}`);
  });
  t.pass('every row matches');
});

t.test('standardised columns: mean 0, variance 1', async (t) => {
  const x = standardised(irisRows().features);
  for (let j = 0; j < 4; j++) {
    const col = x.map((r) => r[j]);
    const mean = col.reduce((a, v) => a + v, 0) / col.length;
    const variance = col.reduce((a, v) => a + (v - mean) ** 2, 0) / col.length;
    t.ok(Math.abs(mean) < 1e-12 && Math.abs(variance - 1) < 1e-12, `column ${j}: mean ${mean}, variance ${variance}`);
  }
});

t.test('seeded normals: reproducible, about mean 0 and variance 1', async (t) => {
  t.strictSame(normals(48, 3), normals(48, 3), 'the same seed, the same draws');
  const z = normals(20000, 1);
  const mean = z.reduce((a, v) => a + v, 0) / z.length;
  const variance = z.reduce((a, v) => a + (v - mean) ** 2, 0) / z.length;
  // Standard errors: 1/√n = 0.007 for the mean, √(2/n) = 0.01 for the variance.
  t.ok(Math.abs(mean) < 0.03, `mean ${mean} within 4 standard errors of 0`);
  t.ok(Math.abs(variance - 1) < 0.04, `variance ${variance} within 4 standard errors of 1`);
});
