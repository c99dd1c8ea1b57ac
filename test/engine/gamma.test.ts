/**
 * The gamma sampler and its implicit reparameterisation gradient: the incomplete gamma
 * function and its derivative in a against scipy and mpmath, the gradient against finite
 * differences of the inverse CDF, the primitive's two modes against the scalar gradient, and
 * the draws' moments and Monte Carlo derivatives against closed forms.
 */
import t, { type Test } from 'tap';
import { Context, Tensor, concrete, grad, mul, sum, type Value } from '../../src/engine/index.js';
import { standardGamma, standardGammaNumbers } from '../../src/engine/ops/gamma.js';
import { Random } from '../../src/engine/random.js';
import { gammaP, gammaPDerivA, gammaPInv, gammaQ, gammaSampleGrad } from '../../src/engine/special.js';
import { assertClose, assertEngineError, assertGradients } from '../helpers.js';

/** Rows of [a, [[x, value], …]]. */
type Table = readonly (readonly [number, readonly (readonly [number, number])[]])[];

function checkFunction(t: Test, name: string, f: (a: number, x: number) => number, a: number, x: number, expected: number, rtol: number): void {
  assertClose(t, f(a, x), expected, `${name}(${a}, ${x})`, { rtol, atol: 0 });
}

function checkTable(t: Test, name: string, f: (a: number, x: number) => number, table: Table, rtol: number, looser: ReadonlyMap<string, number> = new Map()): void {
  for (const [a, points] of table) {
    for (const [x, expected] of points) checkFunction(t, name, f, a, x, expected, looser.get(`${a},${x}`) ?? rtol);
  }
}

// From scipy.special.gammainc (scipy 1.17.1).
const gammaincValues: Table = [
  [0.01, [[1e-100, 0.10057065285003845], [1e-10, 0.7988610914336053], [0.001, 0.9385706525261288], [0.5, 0.9943732438060326], [1.005, 0.9978021726623758], [3, 0.9998670286434298], [30, 1.0], [300, 1.0]]],
  [0.1, [[1e-30, 0.001051137006111777], [1e-5, 0.3323984050405032], [0.05, 0.7755386354510307], [1, 0.9758726562736721], [1.1, 0.9793992217906597], [5, 0.9998560610341533], [50, 1.0], [500, 1.0]]],
  [0.5, [[1e-10, 1.1283791670578994e-5], [0.01, 0.11246291601828491], [0.5, 0.6826894921370859], [1.5, 0.9167354833364496], [5, 0.9984345977419975], [30, 0.9999999999999906], [300, 1.0]]],
  [1, [[1e-10, 9.999999999500014e-11], [0.01, 0.009950166250831952], [0.5, 0.3934693402873665], [1, 0.6321205588285577], [2, 0.8646647167633873], [10, 0.9999546000702375], [100, 1.0], [700, 1.0]]],
  [2.5, [[1e-5, 9.515260653112741e-14], [0.1, 0.0008861387888124438], [1, 0.15085496391539038], [2.5, 0.584119813004492], [3.5, 0.7793596920632894], [10, 0.9987502694369687], [50, 1.0], [500, 1.0]]],
  [10, [[0.01, 2.7307942836962656e-27], [1, 1.1142547833872071e-7], [5, 0.03182805730620481], [9.5, 0.47817397776279236], [10, 0.5420702855281478], [11, 0.6594893575343392], [20, 0.9950045876916924], [50, 0.9999999999987403], [200, 1.0]]],
  [100, [[10, 5.398589728139647e-63], [50, 3.2000653245851495e-10], [80, 0.0171083130351331], [99, 0.473304330399461], [100, 0.5132987982791487], [101, 0.5528962934345113], [120, 0.9721362601094793], [150, 0.9999940754596646], [300, 1.0]]],
  [1000, [[500, 3.298272797068251e-86], [900, 0.0005499022657117818], [950, 0.055054686230738045], [999, 0.491586426067856], [1000, 0.5042052441802155], [1001, 0.5168114529297863], [1050, 0.9413288886226819], [1100, 0.9989406767460701], [1300, 1.0]]],
];

// From scipy.special.gammaincc (scipy 1.17.1): the upper tails that P rounds to 1.
const gammainccValues: Table = [
  [0.01, [[1e-100, 0.8994293471499616], [1e-10, 0.2011389085663948], [0.001, 0.06142934747387101], [0.5, 0.005626756193967183], [1.005, 0.0021978273376241893], [3, 0.00013297135657015585], [30, 3.1449132270757964e-17], [300, 1.8211702982333272e-135]]],
  [0.1, [[1e-30, 0.9989488629938882], [1e-5, 0.6676015949594968], [0.05, 0.22446136454896942], [1, 0.024127343726327757], [1.1, 0.020600778209340247], [5, 0.00014393896584673387], [50, 5.891960493418553e-25], [500, 2.783337653356963e-221]]],
  [0.5, [[1e-10, 0.9999887162083294], [0.01, 0.887537083981715], [0.5, 0.31731050786291115], [1.5, 0.08326451666355042], [5, 0.001565402258002549], [30, 9.485737571073857e-15], [300, 1.674167984691805e-132]]],
  [1, [[1e-10, 0.9999999999], [0.01, 0.990049833749168], [0.5, 0.6065306597126334], [1, 0.36787944117144245], [2, 0.1353352832366127], [10, 4.539992976248486e-5], [100, 3.7200759760208177e-44], [700, 9.85967654375939e-305]]],
  [2.5, [[1e-5, 0.9999999999999049], [0.1, 0.9991138612111875], [1, 0.8491450360846096], [2.5, 0.4158801869955079], [3.5, 0.22064030793671066], [10, 0.0012497305630313773], [50, 5.285148360943219e-20], [500, 6.0100776879208495e-214]]],
  [10, [[0.01, 1.0], [1, 0.9999998885745217], [5, 0.9681719426937951], [9.5, 0.5218260222372076], [10, 0.4579297144718523], [11, 0.3405106424656608], [20, 0.0049954123083075785], [50, 1.2596084591660847e-12], [200, 2.0440955935807256e-72]]],
  [100, [[10, 1.0], [50, 0.9999999996799934], [80, 0.9828916869648668], [99, 0.526695669600539], [100, 0.48670120172085135], [101, 0.44710370656548876], [120, 0.027863739890520652], [150, 5.924540335483916e-6], [300, 1.4110215102111738e-41]]],
  [1000, [[500, 1.0], [900, 0.9994500977342882], [950, 0.9449453137692619], [999, 0.508413573932144], [1000, 0.4957947558197845], [1001, 0.48318854707021375], [1050, 0.05867111137731806], [1100, 0.0010593232539299773], [1300, 1.8736155715785688e-18]]],
];

// mpmath 1.3 at 30 digits: mpmath.diff in a of gammainc(a, 0, x, regularized=True), or, above
// the mean, of -gammainc(a, x, inf, regularized=True) (there P is 1 to more than 30 digits);
// the same numbers to the last bit at 50 digits.
const derivativeValues: Table = [
  [0.001, [[1e-200, -290.37075342317917], [1e-10, -21.95189754529159], [0.01, -4.023271651801227], [0.5, -0.5603594001080031], [1.001, -0.21946479310346173], [2, -0.04905334583936488], [20, -9.906877326777444e-11], [300, -1.7319787969242583e-133]]],
  [0.01, [[1e-100, -23.100839987845834], [1e-10, -17.94638683611583], [0.001, -5.957905603446865], [0.5, -0.5655459117152578], [1.005, -0.22200662756866013], [3, -0.013547187572805137], [30, -3.270503078166221e-15], [300, -1.9353208775082517e-133]]],
  [0.1, [[1e-30, -0.07216454752963232], [1e-5, -3.68602534267484], [0.05, -2.0264226621003973], [1, -0.26256688602375755], [1.1, -0.22564130494089957], [5, -0.0017539473155578874], [50, -8.457947587742097e-24], [500, -4.6315727999586105e-220]]],
  [0.5, [[1e-10, -0.00026023065019619644], [0.01, -0.522514337797483], [0.5, -0.6472003523777539], [1.5, -0.23019434201736078], [5, -0.005843362259135279], [30, -5.118991143389857e-14], [300, -1.2841888551146856e-131]]],
  [1, [[1e-10, -2.3448635263891493e-9], [0.01, -0.05005387258715675], [0.5, -0.48945757610237844], [1, -0.4317297106348987], [2, -0.2208254262118595], [10, -0.00013489972106809524], [100, -1.9315705079981608e-43], [700, -7.029675805529604e-304]]],
  [2.5, [[1e-5, -1.2004531742357116e-12], [0.1, -0.0030252729366812103], [1, -0.1800996069540415], [2.5, -0.26084496236866944], [3.5, -0.1872354473407891], [10, -0.0021281869603254535], [50, -1.706602299138607e-19], [500, -3.313628352608591e-213]]],
  [10, [[0.01, -1.8998150787102724e-26], [1, -2.630331275915804e-7], [5, -0.02555199772082816], [9.5, -0.1288276416793082], [10, -0.12721482320991925], [11, -0.11569395739153053], [20, -0.004098523101719286], [50, -2.121014061317579e-12], [200, -6.238111127740907e-72]]],
  [100, [[10, -1.2463513810630725e-62], [50, -2.2638123183014524e-10], [80, -0.004402643243468635], [99, -0.03992699317110421], [100, -0.03992749785778605], [101, -0.03953233929273042], [120, -0.006213185929140656], [150, -2.538946697261135e-6], [300, -1.564184763107338e-41]]],
  [1000, [[500, -2.2911095748452634e-86], [900, -6.245709035841566e-5], [950, -0.003551127164809476], [999, -0.012616712415226564], [1000, -0.012616713994069625], [1001, -0.012604110408867036], [1050, -0.0036718379194951804], [1100, -0.00011048987784079389], [1300, -4.98582758314972e-19]]],
  [10000, [[9000, -2.2037781167867484e-26], [9700, -4.1039141078842434e-5], [9900, -0.0024237533683262443], [10000, -0.003989456049453668], [10001, -0.0039890571454012464], [10100, -0.0024156880031763668], [10300, -4.768499514046361e-5], [11000, -1.6308824174316845e-23]]],
];

t.test('gammaP agrees with scipy.special.gammainc to 1e-13', async (t) => {
  // scipy's own value at (1000, 500), P = 3e-86, is 3.5e-13 from mpmath's; ours is 8e-15 from it.
  checkTable(t, 'gammaP', gammaP, gammaincValues, 1e-13, new Map([['1000,500', 5e-13]]));
});

t.test('gammaQ agrees with scipy.special.gammaincc to 1e-13, far tails and small a included', async (t) => {
  checkTable(t, 'gammaQ', gammaQ, gammainccValues, 1e-13);
});

t.test('gammaPDerivA agrees with mpmath to 1e-12, from a = 0.001 to 10000', async (t) => {
  checkTable(t, 'gammaPDerivA', gammaPDerivA, derivativeValues, 1e-12);
});

const edgeCases: readonly { name: string; got: () => number; expected: number }[] = [
  { name: 'gammaP(2, 0) is 0', got: () => gammaP(2, 0), expected: 0 },
  { name: 'gammaP(2, Infinity) is 1', got: () => gammaP(2, Infinity), expected: 1 },
  { name: 'gammaQ(2, 0) is 1', got: () => gammaQ(2, 0), expected: 1 },
  { name: 'gammaP(2, NaN) is NaN', got: () => gammaP(2, NaN), expected: NaN },
  { name: 'gammaP(0, 1) is NaN (a must be positive)', got: () => gammaP(0, 1), expected: NaN },
  { name: 'gammaP(2, -1) is NaN', got: () => gammaP(2, -1), expected: NaN },
  { name: 'gammaPDerivA(2, 0) is 0', got: () => gammaPDerivA(2, 0), expected: 0 },
  { name: 'gammaPDerivA(2, Infinity) is 0', got: () => gammaPDerivA(2, Infinity), expected: 0 },
  { name: 'gammaPDerivA(NaN, 1) is NaN', got: () => gammaPDerivA(NaN, 1), expected: NaN },
  { name: 'gammaSampleGrad(2, 0) is 0', got: () => gammaSampleGrad(2, 0), expected: 0 },
  { name: 'gammaSampleGrad(2, Infinity) is 0', got: () => gammaSampleGrad(2, Infinity), expected: 0 },
  { name: 'gammaSampleGrad(-1, 1) is NaN', got: () => gammaSampleGrad(-1, 1), expected: NaN },
  // The density and ∂P/∂a both underflow here, their quotient does not; mpmath at 40 digits.
  { name: 'gammaSampleGrad(1000, 1e-10) needs no density', got: () => gammaSampleGrad(1000, 1e-10), expected: 2.993410612559226e-12 },
  { name: 'gammaPInv(2, 0) is 0', got: () => gammaPInv(2, 0), expected: 0 },
  { name: 'gammaPInv(2, 1) is Infinity', got: () => gammaPInv(2, 1), expected: Infinity },
  { name: 'gammaPInv(2, 1.5) is NaN', got: () => gammaPInv(2, 1.5), expected: NaN },
];

t.test('edge cases of the incomplete gamma functions', async (t) => {
  for (const c of edgeCases) assertClose(t, c.got(), c.expected, c.name, { rtol: 1e-13, atol: 0 });
});

function checkInverse(t: Test, a: number, p: number, underflows: boolean): void {
  const x = gammaPInv(a, p);
  if (underflows) t.equal(x, 0, `gammaPInv(${a}, ${p}) rounds a quantile below the smallest double to 0`);
  // Compare on the side that holds the digits.
  else if (p <= 0.5) assertClose(t, gammaP(a, x), p, `gammaP(${a}, gammaPInv(${a}, ${p}))`, { rtol: 1e-12, atol: 0 });
  else assertClose(t, gammaQ(a, x), 1 - p, `gammaQ(${a}, gammaPInv(${a}, ${p}))`, { rtol: 1e-12, atol: 0 });
}

// Where (p Γ(a + 1))^(1/a), the quantile's small-p form, is below 1e-308.
const underflowingQuantiles = new Set(['0.001,1e-300', '0.001,1e-20', '0.001,0.001', '0.001,0.3', '0.01,1e-300', '0.01,1e-20', '0.5,1e-300']);

t.test('gammaPInv inverts gammaP from p = 1e-300 to 1 - 1e-15', async (t) => {
  for (const a of [0.001, 0.01, 0.5, 1, 3.5, 50, 1000, 10000]) {
    for (const p of [1e-300, 1e-20, 1e-3, 0.3, 0.5, 0.9, 1 - 1e-9, 1 - 1e-15]) checkInverse(t, a, p, underflowingQuantiles.has(`${a},${p}`));
  }
});

/**
 * dz/da at a fixed quantile u, z(a) = gammaPInv(a, u), against central differences of z in a
 * with step h = 1e-5 a, Richardson-extrapolated from h and h/2 (error O(h⁴)).
 */
function checkImplicitGradient(t: Test, a: number, u: number): void {
  const z = gammaPInv(a, u);
  const central = (h: number): number => (gammaPInv(a + h, u) - gammaPInv(a - h, u)) / (2 * h);
  const h = 1e-5 * a;
  const numeric = (4 * central(h / 2) - central(h)) / 3;
  assertClose(t, gammaSampleGrad(a, z), numeric, `gammaSampleGrad(${a}, gammaPInv(${a}, ${u}) = ${z})`, { rtol: 1e-6, atol: 0 });
}

t.test('gammaSampleGrad is the derivative in a of the quantile at a fixed uniform', async (t) => {
  const uniforms = [1e-6, 0.01, 0.1, 0.5, 0.9, 0.99, 1 - 1e-6];
  for (const a of [0.01, 0.1, 0.5, 1, 2.5, 10, 100, 1000]) {
    // The 1e-6 quantile of Gamma(0.01) is about 1e-600: not representable.
    for (const u of a === 0.01 ? uniforms.slice(1) : uniforms) checkImplicitGradient(t, a, u);
  }
});

const sumOfDraws = (draw: ReturnType<Random['draw']>) => (cx: Context, [alpha]: readonly Value[]) => sum(cx, standardGamma(cx, alpha, draw));

/** The gradient of Σ standardGamma(alpha) in both modes against gammaSampleGrad at each draw. */
function checkSamplerGradient(t: Test, label: string, alpha: Tensor, seed: number): void {
  const draw = new Random(seed).draw();
  const z = concrete(standardGamma(new Context(), alpha, draw));
  const expected = Tensor.fromArray(alpha.shape, Array.from(z.data, (zj, j) => gammaSampleGrad(alpha.data[j], zj)));
  assertGradients(t, `standardGamma ${label}`, sumOfDraws(draw), [alpha], [expected], { rtol: 1e-14, atol: 0 });
}

t.test('the gradient of standardGamma is the implicit gradient, by reverse and forward mode', async (t) => {
  checkSamplerGradient(t, 'of a vector of shapes 0.05 to 50', Tensor.fromNested([0.05, 0.7, 1, 3.5, 50]), 1);
  checkSamplerGradient(t, 'of a 2x3 matrix', Tensor.fromNested([[0.3, 1.5, 8], [0.01, 200, 2]]), 2);
  checkSamplerGradient(t, 'of a scalar', Tensor.scalar(2.5), 3);
});

t.test('standardGamma composes: d/dα (α z(α)) = z + α dz/dα through the tape\'s scalar rules', async (t) => {
  const draw = new Random(4).draw();
  const alpha = 1.7;
  const z = standardGammaNumbers(alpha, draw, 0);
  const f = (cx: Context, [a]: readonly Value[]): Value => mul(cx, a, standardGamma(cx, a, draw));
  assertGradients(t, 'standardGamma times alpha', f, [Tensor.scalar(alpha)], [z + alpha * gammaSampleGrad(alpha, z)], { rtol: 1e-14, atol: 0 });
});

t.test('standardGamma draws element j from element j of the draw only', async (t) => {
  const cx = new Context();
  const draw = new Random(5).draw();
  const alphas = [0.2, 1, 4, 0.2, 1, 4];
  const z = concrete(standardGamma(cx, Tensor.fromNested(alphas), draw)).data;
  t.same(Array.from(z), alphas.map((a, j) => standardGammaNumbers(a, draw, j)), 'the tensor op gives the scalar sampler\'s numbers');
  t.same(Array.from(concrete(standardGamma(cx, Tensor.fromNested(alphas.slice(0, 2)), draw)).data), Array.from(z.subarray(0, 2)), 'a shorter tensor gives the same first elements');
  t.ok(Number.isNaN(standardGammaNumbers(0, draw, 0)) && Number.isNaN(standardGammaNumbers(-1, draw, 0)), 'alpha <= 0 gives NaN');
  t.ok(standardGammaNumbers(1e-3, draw, 1) >= 0, 'a tiny alpha gives a number (possibly 0: the distribution sits below 1e-300)');
});

t.test('standardGamma counts against the budgets', async (t) => {
  const draw = new Random(6).draw();
  assertEngineError(t, 'standardGamma past the deadline', () => standardGamma(new Context({ deadline: -1 }), Tensor.full([4096], 2), draw), {
    code: 'LIMIT_EXCEEDED',
    op: 'standard_gamma',
    message: [/time limit/],
  });
  assertEngineError(t, 'standardGamma over the memory budget', () => standardGamma(new Context({ maxElements: 10 }), Tensor.full([100], 2), draw), {
    code: 'LIMIT_EXCEEDED',
    op: 'standard_gamma',
    message: [/memory limit/],
  });
});

const DRAWS = 100_000;

/**
 * n draws of Gamma(α, 1) against the closed forms, each within 5 standard errors: the mean α
 * and variance α (the variance's standard error from the fourth central moment 3α² + 6α); and
 * Monte Carlo derivatives, E[dz/dα] = dE[z]/dα = 1 and E[2z dz/dα] = dE[z²]/dα = 1 + 2α.
 */
function checkDraws(t: Test, alpha: number, seed: number): void {
  const draw = new Random(seed).draw();
  let z: Tensor | null = null;
  const f = (cx: Context, [a]: readonly Value[]): Value => {
    const draws = standardGamma(cx, a, draw);
    z = concrete(draws);
    return sum(cx, draws);
  };
  const dz = concrete(grad(new Context(), f, [Tensor.full([DRAWS], alpha)]).grads[0]).data;
  const zs = (z as Tensor | null)!.data;
  const n = DRAWS;
  const meanOf = (g: (j: number) => number): { mean: number; se: number } => {
    let s = 0;
    let s2 = 0;
    for (let j = 0; j < n; j++) {
      const v = g(j);
      s += v;
      s2 += v * v;
    }
    const mean = s / n;
    return { mean, se: Math.sqrt((s2 / n - mean * mean) / n) };
  };
  const m = meanOf((j) => zs[j]);
  const variance = meanOf((j) => (zs[j] - alpha) ** 2).mean;
  const within = (got: number, expected: number, se: number, what: string): void => {
    t.ok(Math.abs(got - expected) <= 5 * se, `Gamma(${alpha}): ${what} ${got}, expected ${expected} ± 5 × ${se}`);
  };
  within(m.mean, alpha, Math.sqrt(alpha / n), 'mean');
  within(variance, alpha, Math.sqrt((3 * alpha * alpha + 6 * alpha - alpha * alpha) / n), 'variance');
  const dMean = meanOf((j) => dz[j]);
  within(dMean.mean, 1, dMean.se, 'mean of dz/dα');
  const dSquare = meanOf((j) => 2 * zs[j] * dz[j]);
  within(dSquare.mean, 1 + 2 * alpha, dSquare.se, 'mean of d(z²)/dα');
}

t.test('100,000 draws have the moments of Gamma(α, 1) and the Monte Carlo derivatives of its moments', async (t) => {
  for (const [alpha, seed] of [[0.05, 11], [0.7, 12], [1, 13], [3.5, 14], [50, 15]]) checkDraws(t, alpha, seed);
});
