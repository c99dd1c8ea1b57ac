/**
 * The matrix product's one loop, as source: `matmul`'s kernels (ops/linalg.ts) and the plan's
 * products fused into their loops (plan.ts) are both compiled from it, so each element of C is
 * the same sum, in the same order, in both: the same bits by construction.
 */
import { WORK_PER_DEADLINE_CHECK } from './core.js';

/** The widest block: four columns of B, sixteen accumulators with four rows of A. */
export const PRODUCT_WIDTH = 4;

/** The block width for a product of n columns: four, or n itself where B is narrower (a regression or classification head). */
export function productWidth(n: number): number {
  return Math.max(1, Math.min(PRODUCT_WIDTH, n));
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * The body of C (m×k) · (k×n) = A · B in register blocks of four rows by `width` columns:
 * the block's accumulators in locals, one pass over k per block reading `width` columns of B
 * directly (a panel), each element summed over k in order from 0. A last panel narrower than
 * `width` (past n) re-reads its first column rather than being copied, and its absent columns
 * are not handed on; rows past the last whole block of four go one at a time.
 *
 * The body declares nothing it reads: A's element (row, kk) is `a[aBase + row * ar + kk * ac]`,
 * B's (kk, col) `b[bBase + kk * br + col * bc]`, the dimensions are `m`, `k` and `n`, and
 * `cx.work(op, amount)` counts multiply-adds against the deadline (Context.work): every block of
 * rows, or every panel where a block's rows are long. `element(value)` is the statement that hands
 * on C's element (r, j), at offset i = r * n + j, whose value is the local named `value`.
 */
export function productSource(width: number, element: (value: string) => string): string {
  const cols = range(width);
  const block = (rowsInBlock: number): string => {
    const rows = range(rowsInBlock);
    const offsets = cols.slice(1).map((y) => `s${y} = col + ${y} < n ? ${y} * bc : 0`);
    const handOn = rows.flatMap((x) => [
      `const i${x} = (row + ${x}) * n + col;`,
      ...cols.map((y) => {
        const statement = `{ const r = row + ${x}, j = col + ${y}, i = i${x} + ${y}; ${element(`c${x}${y}`)} }`;
        return y === 0 ? statement : `if (col + ${y} < n) ${statement}`;
      }),
    ]);
    return `for (let col = 0; col < n; col += ${width}) {
    if (byPanel) cx.work(op, ${rowsInBlock * width} * k);${offsets.length > 0 ? `\n    const ${offsets.join(', ')};` : ''}
    let ${rows.flatMap((x) => cols.map((y) => `c${x}${y} = 0`)).join(', ')};
    for (let kk = 0, ka = 0, q = bBase + col * bc; kk < k; kk++, ka += ac, q += br) {
      const ${cols.map((y) => (y === 0 ? 'b0 = b[q]' : `b${y} = b[q + s${y}]`)).join(', ')};
      const ${rows.map((x) => `x${x} = a[a${x}_ + ka]`).join(', ')};
      ${rows.map((x) => cols.map((y) => `c${x}${y} += x${x} * b${y};`).join(' ')).join('\n      ')}
    }
    ${handOn.join('\n    ')}
  }`;
  };
  return `const byPanel = 4 * k * n > ${WORK_PER_DEADLINE_CHECK};
let row = 0;
for (; row + 4 <= m; row += 4) {
  if (!byPanel) cx.work(op, 4 * k * n);
  const a0_ = aBase + row * ar, a1_ = a0_ + ar, a2_ = a1_ + ar, a3_ = a2_ + ar;
  ${block(4)}
}
for (; row < m; row++) {
  if (!byPanel) cx.work(op, k * n);
  const a0_ = aBase + row * ar;
  ${block(1)}
}`;
}
