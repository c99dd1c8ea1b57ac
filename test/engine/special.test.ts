/**
 * The digamma function and its derivatives ψ⁽ⁿ⁾ (src/engine/special.ts) against 30-digit
 * references, the engine's derivatives of digamma (the polygamma primitive's rules) against
 * the same, and the entropies' gradients that go through trigamma against their closed forms.
 * PyTorch's trigamma (ATen's calc_trigamma: six recurrence steps, then the asymptotic series
 * to B₆) is accurate to only about 5e-10 relative, so its gradients through digamma differ from
 * the true ones, and from these, by up to a few 1e-9 (issue 14, finding 21): the references
 * here are the mathematics, not PyTorch's rounding of it.
 */
import t, { type Test } from 'tap';
import { Context, Tensor, concrete, digamma, grad, gradForward, type Fn } from '../../src/engine/index.js';
import { polygamma } from '../../src/engine/special.js';
import * as D from '../../src/distributions/index.js';
import { assertClose } from '../helpers.js';

/**
 * [x, [ψ(x), ψ'(x), ψ''(x), ψ'''(x)]] to 30 digits, at x the float64 itself (its exact binary
 * value), by scripts/polygamma-references.ts: decimal.js at 60 digits or more (doubled until
 * two precisions agree to 40), the recurrence up past 60 + 2n, then the asymptotic series with
 * exact Bernoulli numbers; no reflection formula. Out of float64's range they round to ±∞ or 0.
 */
const REFERENCES: readonly (readonly [number, readonly string[]])[] = [
  [1e-300, ['-9.99999999999999974940908164791e+299', '9.99999999999999949881816329582e+599', '-1.99999999999999984964544898875e+900', '5.99999999999999939858179595499e+1200']],
  [1e-8, ['-1.00000000577215646359936229317e+8', '1.00000000000000012264828262045e+16', '-1.99999999999999987446463742334e+24', '5.99999999999999949785854007692e+32']],
  [0.001, ['-1.00057557193181027965475671066e+3', '1.00000164253319582734466950415e+6', '-2.00000000239763216483324031505e+9', '6.0000000000064686144555746328e+12']],
  [0.1, ['-1.04237549404110762321002953145e+1', '1.01433299150792747704652039651e+2', '-2.00186145737834367322205083003e+3', '6.00045128767902533842707693942e+4']],
  [0.5, ['-1.963510026021423479440976333e+0', '4.93480220054467930941724549994e+0', '-1.68287966442343199955963342612e+1', '9.74090910340024372364403326887e+1']],
  [1, ['-5.77215664901532860606512090082e-1', '1.64493406684822643647241516665e+0', '-2.40411380631918857079947632302e+0', '6.49393940226682914909602217925e+0']],
  [1.25, ['-2.27453533376265408089530146097e-1', '1.19732915450711073927131911934e+0', '-1.32773993753692033333796717884e+0', '2.78214400918839602279124382904e+0']],
  [1.4616321449683622, ['-9.24126552172942751679235141516e-17', '9.67672245447621254995169568718e-1', '-8.85526337967184360306022710127e-1', '1.55099856573390643950290937449e+0']],
  [1.5, ['3.64899739785765205590236670012e-2', '9.34802200544679309417245499938e-1', '-8.2879664423431999559633426116e-1', '1.40909103400243723644033268871e+0']],
  [2, ['4.22784335098467139393487909918e-1', '6.44934066848226436472415166646e-1', '-4.04113806319188570799476323023e-1', '4.93939402266829149096022179247e-1']],
  [2.5, ['7.03156640645243187225690333668e-1', '4.90357756100234864972801055494e-1', '-2.36204051641727403003741668568e-1', '2.2390584881725205125514750352e-1']],
  [3.7, ['1.16715353936151144094765086066e+0', '3.10037857670038302158248387453e-1', '-9.53953087285540334827211089971e-2', '5.82792179565636141188217140285e-2']],
  [5, ['1.50611766843180047272682124325e+0', '2.21322955737115325361304055535e-1', '-4.87897322451144967254022489488e-2', '2.14278281927550750219481051729e-2']],
  [7.3, ['1.91782033563798607229146772371e+0', '1.46795768131427101985461028874e-1', '-2.15108144416202520371125203273e-2', '6.29315871319848971156697939952e-3']],
  [9.99, ['2.25070037283120112197865012705e+0', '1.05276950148241784385441723759e-1', '-1.10730705314610511582195583612e-2', '2.32721593996407979771530098707e-3']],
  [10, ['2.25175258906672110764745616389e+0', '1.05166335681685746122201006908e-1', '-1.10498349708020674621037490668e-2', '2.31990130428986838555765134016e-3']],
  [10.5, ['2.30300103429768637527259355085e+0', '9.99169560591267332039441714455e-2', '-9.97514424771516928530591945709e-3', '1.99008623714435424794824693861e-3']],
  [14.2, ['2.61761762368949080139293769938e+0', '7.29603525517256314623435406247e-2', '-5.32085956620424906208886566183e-3', '7.75738185758518703661714841865e-4']],
  [20, ['2.97052399224214905087725697883e+0', '5.12708229352031198315362945884e-2', '-2.62812240231465459342620856549e-3', '2.69374221339638914594118642423e-4']],
  [33.3, ['3.49046723852024277728041822284e+0', '3.04854440953388877900430010724e-2', '-9.29290367811517281584277706575e-4', '5.66508906229243529390355576207e-5']],
  [1000, ['6.90725519564881205205000611425e+0', '1.00050016666663333335714282381e-3', '-1.0010004999998333334999997e-6', '2.00300199999900000133333033334e-9']],
  [12345.678, ['9.42102082074176087751614997919e+0', '8.10032872311120691469402158142e-5', '-6.56153253865823449228982294803e-9', '1.06301140864794453142442961173e-12']],
  [100000000, ['1.84206807389523654638105983041e+1', '1.00000000500000001666666666667e-8', '-1.00000001000000005e-16', '2.0000000300000002e-24']],
  [1000000000000000, ['3.45387763949106847602698718203e+1', '1.0000000000000005e-15', '-1.000000000000001e-30', '2.000000000000003e-45']],
  [1e+300, ['6.90775527898213705257902196661e+2', '9.99999999999999947495239744796e-301', '-9.99999999999999894990479489591e-601', '1.99999999999999968497143846877e-900']],
  [-1e-8, ['9.99999994227843165568702676927e+7', '1.00000000000000012264828742868e+16', '1.99999999999999987446463261512e+24', '5.99999999999999949785854007692e+32']],
  [-0.001, ['9.99421138197891333756828028287e+2', '1.00000164734143173541718810016e+6', '1.9999999975893796658682386637e+9', '6.00000000000651838722982601449e+12']],
  [-0.1, ['9.24507305005294804232986301637e+0', '1.01922539959477192432022492117e+2', '1.99679820295620494695091587204e+3', '6.00097390140937634071351269034e+4']],
  [-0.5, ['3.64899739785765205590236670012e-2', '8.93480220054467930941724549994e+0', '-8.2879664423431999559633426116e-1', '1.93409091034002437236440332689e+2']],
  [-0.5040830082644554, ['7.28976390297689494446243434246e-17', '8.93979855879213448411062941425e+0', '-1.61869092506129982699472242333e+0', '1.93551432389493034723266579288e+2']],
  [-0.9, ['-9.3126438292999679637417029142e+0', '1.02667867052027371107786072745e+2', '-1.99911797315337963243771595571e+3', '6.00136578242068723520069108027e+4']],
  [-1.5, ['7.03156640645243187225690333668e-1', '9.37924664498912375386168994438e+0', '-2.36204051641727403003741668568e-1', '1.94594276219187622421625517874e+2']],
  [-2.001, ['1.00091988932194001925181737891e+3', '1.00000289509483542537070389469e+6', '1.99999999983367795023027965721e+9', '6.00000000001551241662398838039e+12']],
  [-2.5, ['1.10315664064524318722569033367e+0', '9.53924664498912375386168994438e+0', '-1.08204051641727403003741668568e-1', '1.94747876219187622421625517874e+2']],
  [-2.6107208684441447, ['-1.07202759364100020712503649809e-15', '1.08483287992091915802042432185e+1', '-2.55414513884944152481333287403e+1', '3.07304114296853353759510315158e+2']],
  [-2.999, ['-9.98740876324363071382849310733e+2', '1.00000300597183000600029397208e+6', '-2.00000000006775750157649969087e+9', '6.00000000001558631701347827334e+12']],
  [-3.5, ['1.38887092635952890151140461938e+0', '9.62087929805034824365760831173e+0', '-6.15568213210276945489311729409e-2', '1.94787859559462507886015355442e+2']],
  [-7.25, ['5.18997721495628788753479311692e+0', '1.96103545392932690156981766916e+1', '1.24008526036565733706870984167e+2', '1.55854119520340449731363680457e+3']],
  [-10.3, ['4.66240349358208701750839942643e+0', '1.49868870657226378199689503734e+1', '6.88289886110369679853851603253e+1', '7.69019333424398741657558102958e+2']],
  [-99.5, ['4.6051743525818452118686787856e+0', '9.85960448441977551612285421307e+0', '-9.99975001458171904757311229829e-5', '1.94818180068104865724172034488e+2']],
  [-1000.25, ['1.00500976930667058754766427184e+1', '1.97382095516997848816745103827e+1', '1.2402510572269784413908361635e+2', '1.55854545654204349003773089313e+3']],
  [-20000.75, ['6.76195739709744483042875456542e+0', '1.97391588053035323520890270281e+1', '-1.24025106723698968229637584619e+2', '1.55854545654403874582991477666e+3']],
];

/** The arguments of HIGHER_ORDER_REFERENCES, and [n, [ψ⁽ⁿ⁾(x) at each]] by the same script. */
const HIGHER_ORDER_ARGUMENTS = [1e-3, 0.5, 2.5, 30, 1e3, -1.5, -2.999, -7.25];
const HIGHER_ORDER_REFERENCES: readonly (readonly [number, readonly string[]])[] = [
  [4, ['-2.40000000000000222665453145914e+16', '-7.71474249826667225190535921924e+2', '-3.13755999506731363375428096873e-1', '-7.9149413401810240418511232887e-6', '-6.01200999999300001199996700013e-12', '-3.13755999506731363375428096873e-1', '-2.40000000000132158882633988711e+16', '2.44815731422421878411441523956e+4']],
  [6, ['-7.19999999999999895084645143993e+23', '-9.22034579238030232862310879583e+4', '-1.31800610755003520228137390328e+0', '-1.81709254111582373837019627071e-7', '-1.20360419999496001319994852027e-16', '-1.31800610755003520228137390328e+0', '-7.20000000000555075985165970931e+23', '1.17912247607023709258695632083e+7']],
  [10, ['-3.62879999999999916906467944955e+39', '-7.43182450885876897549179677128e+9', '-1.56229596593232994759388783112e+2', '-7.23205103458570836097259803763e-10', '-3.6469772639135140324290594878e-25', '-1.56229596593232994759388783112e+2', '-3.62880000000439620180259516393e+39', '1.52202047406683406696508778357e+13']],
  [25, ['1.55112100433309775888100166723e+103', '1.04093968527374276403565470737e+33', '6.98673845657397793940201534034e+14', '1.08085873753818787016885559948e-13', '6.28237613953218220010446335485e-52', '2.08187937054748552737263556908e+33', '1.55112100433754021358051919403e+103', '6.98562797712384059226528429079e+40']],
];

/**
 * 1e-14 relative; for x < 0, also 4 ulps of ψ⁽ⁿ⁾(1 - x). There the reflection
 * ψ⁽ⁿ⁾(x) = (-1)ⁿ ψ⁽ⁿ⁾(1 - x) - π^(n+1) P_n(cot πx) sums two terms that cancel near the zeros of
 * ψ⁽ⁿ⁾ (one between each pair of poles, for even n, digamma's included): near them ψ⁽ⁿ⁾(x)
 * holds only an absolute accuracy of a few ulps of the terms. On the positive axis, digamma's
 * zero x₀ included, the bound is relative throughout.
 */
function tolerance(n: number, x: number): { rtol: number; atol: number } {
  return { rtol: 1e-14, atol: x < 0 ? 4 * Number.EPSILON * Math.abs(polygamma(n, 1 - x)) : 0 };
}

function checkPolygamma(t: Test, n: number, x: number, reference: string): void {
  assertClose(t, polygamma(n, x), Number(reference), `polygamma(${n}, ${x}) against ${reference}`, tolerance(n, x));
}

t.test('digamma and polygamma of orders 1 to 3 against 30-digit references', (t) => {
  for (const [x, values] of REFERENCES) values.forEach((reference, n) => checkPolygamma(t, n, x, reference));
  t.end();
});

t.test('polygamma of higher orders against 30-digit references', (t) => {
  for (const [n, values] of HIGHER_ORDER_REFERENCES) values.forEach((reference, i) => checkPolygamma(t, n, HIGHER_ORDER_ARGUMENTS[i], reference));
  t.end();
});

// [n, x, value]: PyTorch's conventions at the poles (torch.digamma(±0.) = ∓inf, NaN at the
// negative integers) and the limits.
const specialValues: readonly (readonly [number, number, number])[] = [
  [0, 0, -Infinity],
  [0, -0, Infinity],
  [0, -2, NaN],
  [0, Infinity, Infinity],
  [0, -Infinity, NaN],
  [0, NaN, NaN],
  [1, 0, Infinity],
  [1, -3, Infinity],
  [2, -1, NaN],
  [1, Infinity, 0],
  [2, Infinity, 0],
  [1, -Infinity, NaN],
  [3, NaN, NaN],
];

t.test('polygamma at poles, infinities and NaN', (t) => {
  for (const [n, x, expected] of specialValues) t.ok(Object.is(polygamma(n, x), expected), `polygamma(${n}, ${x}) is ${expected}, got ${polygamma(n, x)}`);
  t.end();
});

/** f differentiated `order` times, each time by `differentiate`. */
function derivative(f: Fn, order: number, differentiate: typeof grad): Fn {
  let g = f;
  for (let i = 0; i < order; i++) {
    const inner = g;
    g = (cx, inputs) => differentiate(cx, inner, inputs).grads[0];
  }
  return g;
}

const digammaOf: Fn = (cx, [x]) => digamma(cx, x);

t.test("the engine's derivatives of digamma, in both modes, against the references", (t) => {
  for (const [x, values] of REFERENCES) {
    if (!(Math.abs(x) < 1e100)) continue;
    for (let order = 1; order <= 3; order++) {
      for (const [mode, differentiate] of [['reverse', grad], ['forward', gradForward]] as const) {
        const got = derivative(digammaOf, order, differentiate)(new Context(), [Tensor.scalar(x)]);
        assertClose(t, got, Number(values[order]), `d^${order}/dx^${order} digamma(${x}) by ${mode} mode`, tolerance(order, x));
      }
    }
  }
  t.end();
});

/** ψ'(x) from the table. */
function trigamma(x: number): number {
  const row = REFERENCES.find(([at]) => at === x);
  if (row === undefined) throw new Error(`no reference at ${x}`);
  return Number(row[1][1]);
}

interface EntropyCase {
  d: string;
  params: readonly Tensor[];
  /**
   * For each parameter, the terms of its gradient's closed form in ψ'. Their sum is exact to
   * a few ulps of the largest term, which sets the tolerance: the gamma entropy's
   * 1 + (1 - k) ψ'(k) cancels to about 1/(2k) for large k, in any evaluation.
   */
  terms: readonly (readonly number[])[];
}

const entropyCases: readonly EntropyCase[] = [
  // H = k - log r + lgamma(k) + (1 - k) ψ(k): dH/dk = 1 + (1 - k) ψ'(k), dH/dr = -1/r.
  ...[0.1, 0.5, 2.5, 14.2, 1e3, 12345.678].map((k) => ({ d: 'gamma', params: [Tensor.scalar(k), Tensor.scalar(1.3)], terms: [[1, (1 - k) * trigamma(k)], [-1 / 1.3]] })),
  // H = log B(a, b) - (a - 1) ψ(a) - (b - 1) ψ(b) + (a + b - 2) ψ(a + b):
  // dH/da = (a + b - 2) ψ'(a + b) - (a - 1) ψ'(a), and likewise in b.
  ...[
    [0.5, 1.5],
    [1.25, 1.25],
    [5, 5],
    [0.5, 10],
  ].map(([a, b]) => ({
    d: 'beta',
    params: [Tensor.scalar(a), Tensor.scalar(b)],
    terms: [
      [(a + b - 2) * trigamma(a + b), -(a - 1) * trigamma(a)],
      [(a + b - 2) * trigamma(a + b), -(b - 1) * trigamma(b)],
    ],
  })),
  // H = log B(α) + (α₀ - K) ψ(α₀) - Σ (α_j - 1) ψ(α_j), α₀ = Σ α_j:
  // dH/dα_i = (α₀ - K) ψ'(α₀) - (α_i - 1) ψ'(α_i); one parameter, a vector.
  {
    d: 'dirichlet',
    params: [Tensor.fromNested([1, 1.5, 2.5])],
    terms: [1, 1.5, 2.5].map((a) => [(5 - 3) * trigamma(5), -(a - 1) * trigamma(a)]),
  },
];

function assertEntropyGradient(t: Test, c: EntropyCase): void {
  const f: Fn = (cx, inputs) => D.entropy(cx, D.makeDistribution(cx, D.familyNamed(c.d)!, inputs));
  const label = `${c.d}(${c.params.map((p) => Array.from(p.data).join(' ')).join(', ')})`;
  for (const [mode, differentiate] of [['reverse', grad], ['forward', gradForward]] as const) {
    const grads = differentiate(new Context(), f, c.params).grads.map(concrete);
    // A vector parameter's elements each have their terms; a scalar parameter has its own.
    const got = grads.length === 1 && grads[0].size > 1 ? Array.from(grads[0].data) : grads.map((g) => g.data[0]);
    c.terms.forEach((terms, i) => {
      const expected = terms.reduce((a, b) => a + b, 0);
      const scale = terms.reduce((a, b) => a + Math.abs(b), 0);
      assertClose(t, got[i], expected, `d entropy(${label}) / d parameter ${i + 1} by ${mode} mode`, { rtol: 0, atol: 8 * Number.EPSILON * scale });
    });
  }
}

t.test('gradients of the gamma, beta and dirichlet entropies against their closed forms in trigamma', (t) => {
  for (const c of entropyCases) assertEntropyGradient(t, c);
  t.end();
});
