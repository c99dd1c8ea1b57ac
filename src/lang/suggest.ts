/** "Did you mean …?": the known name closest to a mistyped one, by edit distance. */

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      diagonal = above;
    }
  }
  return prev[b.length];
}

/**
 * The closest candidate within a third of the name's length (at least one edit), or null; a
 * candidate must keep part of the name (no suggesting `x` for `q`).
 */
export function closest(name: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Math.min(Math.max(1, Math.floor(name.length / 3)), name.length - 1);
  for (const c of candidates) {
    const d = distance(name, c);
    if (d < bestDistance || (d === bestDistance && best === null && d > 0)) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
