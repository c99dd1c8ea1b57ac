/* global fetch, URL */
// The two things the lab's scripts share: a POST to the service, and the iris data.
import { readFileSync } from 'node:fs';
import process from 'node:process';

/** The service's address: ADJOINT_URL, else a server started with `npm start` on this machine. */
export const serviceUrl = (process.env.ADJOINT_URL ?? 'http://localhost:8080').replace(/\/+$/, '');

/** POST /v1/<endpoint>: the JSON answer, or an Error carrying the problem (status, code, detail). */
export async function post(endpoint, body) {
  const response = await fetch(`${serviceUrl}/v1/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) {
    const error = new Error(`${endpoint}: ${answer.status} ${answer.code}: ${answer.detail}`);
    error.problem = answer;
    throw error;
  }
  return answer;
}

export const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
export const SPECIES = ['setosa', 'versicolor', 'virginica'];

/** The 150 rows of examples/data/iris.csv: `features` (150 rows of 4 numbers) and `labels` (1..3, as cross_entropy takes them). */
export function readIris() {
  const [header, ...rows] = readFileSync(new URL('../data/iris.csv', import.meta.url), 'utf8').trim().split(/\r?\n/);
  const columns = header.split(',');
  const records = rows.map((row) => row.split(','));
  const features = records.map((r) => FEATURES.map((name) => Number(r[columns.indexOf(name)])));
  const labels = records.map((r) => SPECIES.indexOf(r[columns.indexOf('species')]) + 1);
  if (labels.some((l) => l === 0)) throw new Error('iris.csv: an unknown species');
  return { features, labels };
}

/** Each column minus its mean. */
export function centreColumns(rows) {
  const means = rows[0].map((_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
  return rows.map((r) => r.map((v, j) => v - means[j]));
}

/** A number for the lab's tables: fixed decimals, so that the printed figures do not depend on the last bits. */
export const fixed = (x, digits = 6) => (typeof x === 'number' ? x.toFixed(digits) : String(x));
