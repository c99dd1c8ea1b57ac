/* global console */
// The lab's exercise, part 1: a rank-2 factorisation A ≈ U V' of the mean-centred iris data by
// gradient descent through POST /v1/optimize, compared with the best rank-2 approximation
// (the truncated SVD, whose error is sqrt(s3^2 + s4^2) by the Eckart-Young theorem).
//
//   node examples/lab2/factorise.mjs          (ADJOINT_URL, default http://localhost:8080)
import { centreColumns, fixed, post, readIris } from './adjoint.mjs';

const A = centreColumns(readIris().features); // 150 x 4
const RANK = 2;

// U and V start uniform in [0, 1), as torch.rand does in the lab, drawn by the service with
// fixed seeds: the same numbers on every machine.
const [{ value: U0 }, { value: V0 }] = (
  await post('batch', {
    requests: [
      { endpoint: 'eval', program: `rand(${A.length}, ${RANK})`, seed: 1 },
      { endpoint: 'eval', program: `rand(${A[0].length}, ${RANK})`, seed: 2 },
    ],
  })
).results;

/** 1000 steps of `optimizer` on `loss`, printing the loss every 100 steps; returns the final loss. */
async function factorise(loss, optimizer) {
  const result = await post('optimize', {
    program: loss,
    at: { A },
    params: { U: U0, V: V0 },
    optimizer,
    steps: 1000,
    every: 100,
  });
  if (result.stopped) throw new Error(`the optimisation stopped: ${result.stopped.reason}`);
  console.log(`loss = ${loss}, ${optimizer.name} lr ${optimizer.lr}, 1000 steps`);
  for (const { step, loss: l } of result.history) console.log(`  step ${String(step).padStart(4)}  loss ${fixed(l)}`);
  console.log(`  final      loss ${fixed(result.loss)}`);
  return result.loss;
}

/** The eigenvalues of a small symmetric matrix by cyclic Jacobi rotations, largest first. */
function symmetricEigenvalues(S) {
  const a = S.map((row) => [...row]);
  const n = a.length;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (a[p][q] === 0) continue;
        // The rotation that zeroes a[p][q]: Golub and Van Loan's 2 x 2 symmetric Schur decomposition.
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const [akp, akq] = [a[k][p], a[k][q]];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const [apk, aqk] = [a[p][k], a[q][k]];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((row, i) => row[i]).sort((x, y) => y - x);
}

// The singular values of A are the square roots of the eigenvalues of A'A (4 x 4).
const gram = A[0].map((_, i) => A[0].map((_, j) => A.reduce((s, row) => s + row[i] * row[j], 0)));
const singular = symmetricEigenvalues(gram).map((l) => Math.sqrt(Math.max(l, 0)));
const tail = (from) => Math.sqrt(singular.slice(from).reduce((s, x) => s + x * x, 0));
const svdError = tail(RANK);

console.log(`A: the mean-centred iris data, ${A.length} x ${A[0].length}; U ${A.length} x ${RANK} and V ${A[0].length} x ${RANK} from rand (seeds 1 and 2)`);
console.log(`singular values of A: ${singular.map((s) => fixed(s)).join(' ')}`);
console.log(`truncated SVD, rank 2: error ||A - A2||_F = sqrt(s3^2 + s4^2) = ${fixed(svdError)}`);
console.log(`(rank 1: sqrt(s2^2 + s3^2 + s4^2) = ${fixed(tail(1))})`);
console.log('');

const sgd = await factorise(`norm(A - U * V', "fro")`, { name: 'sgd', lr: 0.01 });
console.log(`the exercise as set: final loss ${fixed(sgd)} vs the SVD's ${fixed(svdError)} (ratio ${fixed(sgd / svdError, 3)})`);
console.log('');
const squared = await factorise(`norm(A - U * V', "fro")^2`, { name: 'sgd', lr: 0.01 });
console.log(`the squared loss: sqrt(final loss) ${fixed(Math.sqrt(squared))} vs the SVD's ${fixed(svdError)}`);
console.log('');
const adam = await factorise(`norm(A - U * V', "fro")`, { name: 'adam', lr: 0.01 });
console.log(`adam: final loss ${fixed(adam)} vs the SVD's ${fixed(svdError)}`);
