/**
 * log_prob, entropy, mean and variance of every family against scipy 1.17 (scipy.stats, or
 * scipy.special and scipy.integrate where scipy has no class), at 2 or 3 points of the support
 * and 1 or 2 parameter settings, with broadcast parameters and an mvnormal against
 * scipy.stats.multivariate_normal. The reference numbers were computed once and are kept
 * here, each row under a comment naming the scipy call (PyTorch's parameterisations mapped to
 * scipy's: gamma's rate is 1 / scale, geometric counts failures so scipy's geom is shifted by
 * one, categorical's categories are 1..K).
 *
 * The relaxed densities are also integrated numerically: they must integrate to 1.
 */
import t, { type Test } from 'tap';
import { families } from '../../src/distributions/index.js';
import { assertClose } from '../helpers.js';
import { assertEveryFamilyCovered, familyOf, valueOf, type Json } from './helpers.js';

/** Closed forms in float64 against scipy: agreement to rounding, 1e-12 relative. */
const TIGHT = { rtol: 1e-12, atol: 1e-13 };

interface ValueCase {
  /** The distribution, as a program writes it. */
  d: string;
  /** The points log_prob is taken at. */
  x: Json;
  logProb?: Json;
  entropy?: Json;
  mean?: Json;
  variance?: Json;
}

const cases: readonly ValueCase[] = [
  // scipy.stats.norm(loc=0.5, scale=2): logpdf(x), entropy(), mean(), var()
  { d: 'normal(0.5, 2)', x: [-1, 0.3, 4], logProb: [-1.893335713764618, -1.617085713764618, -3.143335713764618], entropy: 2.112085713764618, mean: 0.5, variance: 4 },
  // scipy.stats.norm(loc=-3, scale=0.1): logpdf(x), entropy(), mean(), var()
  { d: 'normal(-3, 0.1)', x: [-3.05, -2.9], logProb: [1.2586465597893737, 0.8836465597893719], entropy: -0.8836465597893728, mean: -3, variance: 0.010000000000000002 },
  // scipy.stats.lognorm(s=0.5, scale=exp(0.2)): logpdf(x), entropy(), mean(), var()
  { d: 'lognormal(0.2, 0.5)', x: [0.3, 1.2, 5], logProb: [-2.9640978188924576, -0.40873796414706076, -5.808259723092017], entropy: 0.9257913526447274, mean: 1.3840306459807514, variance: 0.5440622821430534 },
  // scipy.stats.lognorm(s=1.5, scale=exp(-1)): logpdf(x), entropy(), mean(), var()
  { d: 'lognormal(-1, 1.5)', x: [0.01, 2], logProb: [0.3924883069113858, -2.6546057941034693], entropy: 0.824403641312837, mean: 1.1331484530668265, variance: 10.898468544015735 },
  // scipy.stats.uniform(loc=-1, scale=4): logpdf(x), entropy(), mean(), var()
  { d: 'uniform(-1, 3)', x: [-1, 0.5, 2.9], logProb: [-1.3862943611198906, -1.3862943611198906, -1.3862943611198906], entropy: 1.3862943611198906, mean: 1, variance: 1.3333333333333333 },
  // scipy.stats.uniform(loc=2, scale=0.5): logpdf(x), entropy(), mean(), var()
  { d: 'uniform(2, 2.5)', x: [2.1], logProb: [0.6931471805599453], entropy: -0.6931471805599453, mean: 2.25, variance: 0.020833333333333332 },
  // scipy.stats.expon(scale=1/1.5): logpdf(x), entropy(), mean(), var()
  { d: 'exponential(1.5)', x: [0, 0.4, 3], logProb: [0.40546510810816444, -0.19453489189183565, -4.094534891891835], entropy: 0.5945348918918356, mean: 0.6666666666666666, variance: 0.4444444444444444 },
  // scipy.stats.expon(scale=1/0.2): logpdf(x), entropy(), mean(), var()
  { d: 'exponential(0.2)', x: [7], logProb: [-3.0094379124341], entropy: 2.6094379124341005, mean: 5, variance: 25 },
  // scipy.stats.laplace(loc=0.5, scale=2): logpdf(x), entropy(), mean(), var()
  { d: 'laplace(0.5, 2)', x: [-3, 0.5, 4], logProb: [-3.136294361119891, -1.3862943611198906, -3.136294361119891], entropy: 2.386294361119891, mean: 0.5, variance: 8 },
  // scipy.stats.laplace(loc=-1, scale=0.3): logpdf(x), entropy(), mean(), var()
  { d: 'laplace(-1, 0.3)', x: [-1.2, 0], logProb: [-0.15584104290067557, -2.8225077095673425], entropy: 0.4891743762340093, mean: -1, variance: 0.18 },
  // scipy.stats.gumbel_r(loc=0.5, scale=2): logpdf(x), entropy(), mean(), var()
  { d: 'gumbel(0.5, 2)', x: [-3, 0.5, 6], logProb: [-4.697749856565676, -1.6931471805599454, -3.5070750417666527], entropy: 2.270362845461478, mean: 1.6544313298030657, variance: 6.579736267392906 },
  // scipy.stats.gumbel_r(loc=-1, scale=0.3): logpdf(x), entropy(), mean(), var()
  { d: 'gumbel(-1, 0.3)', x: [-1.5, 0], logProb: [-2.4238505794774268, -2.1650345223546497], entropy: 0.37324286057559664, mean: -0.8268353005295401, variance: 0.14804406601634038 },
  // scipy.stats.cauchy(loc=0.5, scale=2): logpdf(x), entropy(); mean NaN and variance Infinity as PyTorch (scipy: nan)
  { d: 'cauchy(0.5, 2)', x: [-10, 0.5, 3], logProb: [-5.189971735063769, -1.8378770664093453, -2.778860410873872], entropy: 3.224171427529236, mean: NaN, variance: Infinity },
  // scipy.stats.halfnorm(scale=1.5): logpdf(x), entropy(), mean(), var()
  { d: 'halfnormal(1.5)', x: [0, 0.7, 4], logProb: [-0.6312564607528918, -0.7401453496417807, -4.186812016308447], entropy: 1.1312564607528919, mean: 1.1968268412042982, variance: 0.817605512172942 },
  // scipy.stats.halfnorm(scale=0.3): logpdf(x), entropy(), mean(), var()
  { d: 'halfnormal(0.3)', x: [0.5], logProb: [-0.41070743720768044], entropy: -0.47818145168120874, mean: 0.2393653682408596, variance: 0.03270422048691767 },
  // scipy.stats.halfcauchy(scale=1.5): logpdf(x), entropy(); mean and variance Infinity as PyTorch
  { d: 'halfcauchy(1.5)', x: [0, 0.7, 40], logProb: [-0.8570478133976192, -1.0540755175812693, -7.425281767565627], entropy: 2.24334217451751, mean: Infinity, variance: Infinity },
  // scipy.stats.weibull_min(c=1.5, scale=2): logpdf(x), entropy(), mean(), var()
  { d: 'weibull(2, 1.5)', x: [0.1, 1.7, 5], logProb: [-1.7967285491162754, -1.1526028160705637, -3.7823837817251773], entropy: 1.4800872940856251, mean: 1.805490585901867, variance: 1.5027611392557279 },
  // scipy.stats.weibull_min(c=0.7, scale=0.5): logpdf(x), entropy(), mean(), var()
  { d: 'weibull(0.5, 0.7)', x: [0.01, 3], logProb: [1.4454064375919211, -3.7061996905543957], entropy: 0.41614962127813027, mean: 0.6329117530286418, variance: 0.8567088884132884 },
  // scipy.stats.pareto(b=3, scale=1.5): logpdf(x), entropy(), mean(), var()
  { d: 'pareto(1.5, 3)', x: [1.5, 2, 10], logProb: [0.6931471805599454, -0.45758110924717815, -6.895332758983581], entropy: 0.6401861527733879, mean: 2.25, variance: 1.6875 },
  // scipy.stats.pareto(b=1.5, scale=2): logpdf(x), entropy(), mean(); variance Infinity for alpha <= 2, as PyTorch
  { d: 'pareto(2, 1.5)', x: [2.5, 30], logProb: [-0.8455409507373052, -7.057807575207306], entropy: 1.9543487391184473, mean: 6, variance: Infinity },
  // scipy.stats.pareto(b=0.8, scale=1): logpdf(x), entropy(); mean and variance Infinity for alpha <= 1, as PyTorch
  { d: 'pareto(1, 0.8)', x: [1, 4], logProb: [-0.2231435513142097, -2.7184734013300127], entropy: 2.4731435513142097, mean: Infinity, variance: Infinity },
  // closed forms: log(a b) + (a-1) log x + (b-1) log1p(-x^a); entropy -log(a b) - (a-1) E[log x] - (b-1) E[log(1-x^a)] with x^a ~ Beta(1, b), by scipy.special.digamma (scipy.integrate.quad of -p log p agrees to 1e-11); E[x^m] = b scipy.special.beta(1 + m/a, b)
  { d: 'kumaraswamy(2, 3)', x: [0.1, 0.5, 0.95], logProb: [-0.5309262954729934, 0.5232481437645478, -2.9153396271161665], entropy: -0.20842613589472214, mean: 0.4571428571428571, variance: 0.04102040816326538 },
  // closed forms: log(a b) + (a-1) log x + (b-1) log1p(-x^a); entropy -log(a b) - (a-1) E[log x] - (b-1) E[log(1-x^a)] with x^a ~ Beta(1, b), by scipy.special.digamma (scipy.integrate.quad of -p log p agrees to 1e-11); E[x^m] = b scipy.special.beta(1 + m/a, b)
  { d: 'kumaraswamy(0.5, 0.8)', x: [0.001, 0.6], logProb: [2.5440136224215304, -0.3629051399141881], entropy: -0.19591636632123938, mean: 0.3968253968253968, variance: 0.10359894445107481 },
  // scipy.stats.multivariate_normal(mean, cov=L @ L.T): logpdf(x), entropy(); mean; diag(cov)
  { d: 'mvnormal([1, -2], [[1.5, 0], [0.4, 0.7]])', x: [[0, 0], [1, -1], [2.5, -3]], logProb: [-7.351519838288529, -2.9070753938440834, -4.3866672305787775], entropy: 2.8866672305787775, mean: [1, -2], variance: [2.25, 0.65] },
  // scipy.stats.multivariate_normal(mean, cov=L @ L.T): logpdf(x), entropy(); mean; diag(cov)
  { d: 'mvnormal([0.5, -1, 2], [[1.2, 0, 0], [0.3, 0.8, 0], [-0.5, 0.2, 1.5]])', x: [[0.5, -1, 2], [1, 0, -1]], logProb: [-3.1214587132019274, -5.820321801550692], entropy: 4.621458713201928, mean: [0.5, -1, 2], variance: [1.44, 0.7300000000000001, 2.54] },
  // scipy.stats.logistic(loc=logit(p)/T, scale=1/T).logpdf(logit(x)) - log(x (1 - x)), T = 0.5, p = 0.3
  { d: 'relaxed_bernoulli(0.5, 0.3)', x: [0.01, 0.4, 0.97], logProb: [2.0504649220922433, -0.7544415484180018, 0.11319331652706133] },
  // scipy.stats.logistic(loc=logit(p)/T, scale=1/T).logpdf(logit(x)) - log(x (1 - x)), T = 2, p = 0.8
  { d: 'relaxed_bernoulli(2, 0.8)', x: [0.2, 0.9], logProb: [-1.6641628121233476, -0.003466207976486224] },
  // Maddison et al. 2017 eq. (12) in numpy: log (K-1)! + (K-1) log T + Σ (log p_k - (T+1) log x_k) - K log Σ p_k x_k^-T
  { d: 'relaxed_categorical(0.5, [0.2, 0.3, 0.5])', x: [[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]], logProb: [0.27637489060978204, -0.8994493713858681] },
  // K = 2 reduces to relaxed_bernoulli: scipy.stats.logistic(loc=logit(0.35)/0.7, scale=1/0.7).logpdf(logit(x₁)) - log(x₁ x₂)
  { d: 'relaxed_categorical(0.7, [0.35, 0.65])', x: [[0.2, 0.8], [0.9, 0.1]], logProb: [0.05890497045726312, -0.32471889611482574] },
  // scipy.stats.bernoulli(0.3): logpmf(x), entropy(), mean(), var()
  { d: 'bernoulli(0.3)', x: [0, 1], logProb: [-0.35667494393873245, -1.2039728043259361], entropy: 0.6108643020548935, mean: 0.3, variance: 0.21 },
  // scipy.stats.bernoulli(0.95): logpmf(x), entropy(), mean(), var()
  { d: 'bernoulli(0.95)', x: [1], logProb: [-0.05129329438755058], entropy: 0.19851524334587267, mean: 0.95, variance: 0.04749999999999999 },
  // scipy.stats.rv_discrete(values=([1, 2, 3], [0.2, 0.5, 0.3])): logpmf(x), entropy(), mean(), var()
  { d: 'categorical([0.2, 0.5, 0.3])', x: [1, 2, 3], logProb: [-1.6094379124341003, -0.6931471805599453, -1.2039728043259361], entropy: 1.0296530140645737, mean: 2.0999999999999996, variance: 0.490000000000002 },
  // scipy.stats.rv_discrete(values=([1, 2, 3, 4], [0.1, 0.1, 0.1, 0.7])): logpmf(x), entropy(), mean(), var()
  { d: 'categorical([0.1, 0.1, 0.1, 0.7])', x: [4, 1], logProb: [-0.35667494393873245, -2.3025850929940455], entropy: 0.9404479886553264, mean: 3.4, variance: 1.040000000000001 },
  // scipy.stats.poisson(3.5): logpmf(x), entropy(), mean(), var()
  { d: 'poisson(3.5)', x: [0, 2, 9], logProb: [-3.5, -1.6876212435692093, -5.026960763623157], entropy: 2.015172522512972, mean: 3.5, variance: 3.5 },
  // scipy.stats.poisson(0.2): logpmf(x), entropy(), mean(), var()
  { d: 'poisson(0.2)', x: [0, 1], logProb: [-0.2, -1.8094379124341002], entropy: 0.5353779730988405, mean: 0.2, variance: 0.2 },
  // scipy.stats.binom(10, 0.3): logpmf(x), entropy(), mean(), var()
  { d: 'binomial(10, 0.3)', x: [0, 3, 10], logProb: [-3.5667494393873245, -1.321151277766889, -12.03972804325936], entropy: 1.7790787840900626, mean: 3, variance: 2.1 },
  // scipy.stats.binom(7, 0.9): logpmf(x), entropy(), mean(), var()
  { d: 'binomial(7, 0.9)', x: [5, 7], logProb: [-2.0874503265537996, -0.7375236096047839], entropy: 1.0829108591909922, mean: 6.3, variance: 0.6299999999999999 },
  // scipy.stats.geom(0.3, loc=-1) (failures before the first success): logpmf(x), entropy(), mean(), var()
  { d: 'geometric(0.3)', x: [0, 2, 10], logProb: [-1.2039728043259361, -1.917322692203401, -4.77072224371326], entropy: 2.036214340182978, mean: 2.3333333333333335, variance: 7.777777777777779 },
  // scipy.stats.geom(0.9, loc=-1): logpmf(x), entropy(), mean(), var()
  { d: 'geometric(0.9)', x: [0, 3], logProb: [-0.10536051565782628, -7.013115794639964], entropy: 0.36120330376827575, mean: 0.11111111111111116, variance: 0.12345679012345676 },
  // scipy.stats.gamma(a=2.5, scale=1/1.5): logpdf(x), entropy(), mean(), var()
  { d: 'gamma(2.5, 1.5)', x: [0.1, 1.3, 6], logProb: [-2.874897739693576, -0.8274737035012716, -5.583380896360425], entropy: 1.3244828013968901, mean: 1.6666666666666665, variance: 1.111111111111111 },
  // scipy.stats.gamma(a=0.5, scale=1/4): logpdf(x), entropy(), mean(), var()
  { d: 'gamma(0.5, 4)', x: [0.01, 1], logProb: [2.383367330629291, -3.879217762364755], entropy: -1.2956844312059024, mean: 0.125, variance: 0.03125 },
  // scipy.stats.chi2(3): logpdf(x), entropy(), mean(), var()
  { d: 'chi2(3)', x: [0.2, 2, 9], logProb: [-1.8236574894217228, -1.5723649429247, -4.320326244536562], entropy: 2.0541199559354117, mean: 3, variance: 6 },
  // scipy.stats.chi2(0.8): logpdf(x), entropy(), mean(), var()
  { d: 'chi2(0.8)', x: [0.05, 3], logProb: [0.6985026742066327, -3.233104063126628], entropy: 0.3529942715106593, mean: 0.8, variance: 1.6 },
  // scipy.stats.beta(2, 3): logpdf(x), entropy(), mean(), var()
  { d: 'beta(2, 3)', x: [0.1, 0.5, 0.95], logProb: [-0.028399474521697776, 0.4054651081081646, -3.5578511917075297], entropy: -0.2349066497880008, mean: 0.4, variance: 0.04 },
  // scipy.stats.beta(0.5, 0.7): logpdf(x), entropy(), mean(), var()
  { d: 'beta(0.5, 0.7)', x: [0.001, 0.6], logProb: [2.535571510131461, -0.3883062480144407], entropy: -0.19792388238665887, mean: 0.4166666666666667, variance: 0.11047979797979797 },
  // scipy.stats.dirichlet([1.5, 2, 0.7]): logpdf(x) per row, entropy(), mean(), var()
  { d: 'dirichlet([1.5, 2, 0.7])', x: [[0.2, 0.3, 0.5], [0.6, 0.35, 0.05]], logProb: [0.10772302168916625, 1.501955373748693], entropy: -1.1419003467173847, mean: [0.35714285714285715, 0.47619047619047616, 0.16666666666666666], variance: [0.04415227629513344, 0.04796790511076225, 0.026709401709401705] },
  // scipy.stats.t(df=5, loc=0.5, scale=2): logpdf(x), entropy(), mean(), var()
  { d: 'studentt(5, 0.5, 2)', x: [-3, 0.5, 7], logProb: [-3.095124078678041, -1.6617667696146694, -5.0680455549871475], entropy: 2.3206498529743413, mean: 0.5, variance: 6.666666666666667 },
  // scipy.stats.t(df=1.5): logpdf(x), entropy(), mean(); variance Infinity for 1 < df <= 2, as PyTorch
  { d: 'studentt(1.5, 0, 1)', x: [-20, 0.3], logProb: [-8.063828316430206, -1.1494864199868606], entropy: 2.149659467844649, mean: 0, variance: Infinity },
  // scipy.stats.norm(loc=[0, 1, 2], scale=1.5), element by element: logpdf(x), entropy(), mean(), var()
  { d: 'normal([0, 1, 2], 1.5)', x: 0.3, logProb: [-1.344403641312837, -1.4332925302017259, -1.9666258635350593], entropy: [1.824403641312837, 1.824403641312837, 1.824403641312837], mean: [0, 1, 2], variance: [2.25, 2.25, 2.25] },
  // scipy.stats.weibull_min(c=1.5, scale=[1, 2, 3]), element by element: logpdf(x), entropy(), mean(), var()
  { d: 'weibull([1, 2, 3], 1.5)', x: 1.1, logProb: [-0.70056953497684, -0.9944914896198527, -1.4168259276256538], entropy: [0.7869401135256798, 1.4800872940856251, 1.8855524021937895], mean: [0.9027452929509335, 1.805490585901867, 2.7082358788528005], variance: [0.37569028481393196, 1.5027611392557279, 3.3812125633253873] },
  // scipy.stats.uniform(loc=0, scale=[1, 2]), element by element: logpdf(x), entropy(), mean(), var()
  { d: 'uniform(0, [1, 2])', x: 0.5, logProb: [0, -0.6931471805599453], entropy: [0, 0.6931471805599453], mean: [0.5, 1], variance: [0.08333333333333333, 0.3333333333333333] },
  // scipy.stats.binom(10, [0.2, 0.7]), element by element: logpdf(x), entropy(), mean(), var()
  { d: 'binomial(10, [0.2, 0.7])', x: 3, logProb: [-1.6028268537197223, -4.710342719315702], entropy: [1.621929143435684, 1.779078784090063], mean: [2, 7], variance: [1.5999999999999999, 2.1000000000000005] },
  // scipy.stats.gamma(a=[1.5, 3], scale=1/2), element by element: logpdf(x), entropy(), mean(), var()
  { d: 'gamma([1.5, 3], 2)', x: 1.1, logProb: [-0.9918419016226746, -0.6230852792714595], entropy: [0.6678255948155213, 1.1544313298030655], mean: [0.75, 1.5], variance: [0.375, 0.75] },
  // A batch of two mvnormal (means [2, 2], scale_tril [2, 2, 2]), each against
  // scipy.stats.multivariate_normal(mean, L Lᵀ): logpdf([0.3, -1]), entropy(); variance = row sums of L²
  {
    d: 'mvnormal([[1, -2], [0, 0.5]], [[[1.5, 0], [0.4, 0.7]], [[0.9, 0], [-0.2, 1.1]]])',
    x: [0.3, -1],
    logProb: [-3.432472219240909, -2.732326271419021],
    entropy: [2.8866672305787775, 2.827826730555844],
    mean: [[1, -2], [0, 0.5]],
    variance: [[2.25, 0.65], [0.81, 1.25]],
  },
  // scipy.stats.laplace(loc=0, scale=[1, 2]).logpdf([[0.5], [1.5]]) (broadcast to 2×2)
  { d: 'laplace(0, [1, 2])', x: [[0.5], [1.5]], logProb: [[-1.1931471805599454, -1.6362943611198906], [-2.1931471805599454, -2.136294361119891]] },
];

const QUANTITIES = ['log_prob', 'entropy', 'mean', 'variance'] as const;

/** Each quantity a row gives, computed by eval and compared with scipy's number. */
function assertValues(t: Test, c: ValueCase): void {
  const expected = { log_prob: c.logProb, entropy: c.entropy, mean: c.mean, variance: c.variance };
  for (const what of QUANTITIES) {
    const want = expected[what];
    if (want === undefined) continue;
    const program = what === 'log_prob' ? `log_prob(${c.d}, x)` : `${what}(${c.d})`;
    const label = what === 'log_prob' ? `log_prob(${c.d}, x) at x = ${JSON.stringify(c.x)}` : program;
    const got = valueOf(t, label, program, what === 'log_prob' ? { x: c.x } : {});
    if (got !== null) assertClose(t, got, want, label, TIGHT);
  }
}

t.test('log_prob, entropy, mean and variance agree with scipy', (t) => {
  for (const c of cases) assertValues(t, c);
  t.end();
});

t.test('every family has rows of values', (t) => {
  assertEveryFamilyCovered(t, 'values', cases.map((c) => familyOf(c.d)));
  const lacking = families.filter((f) => f.entropy !== undefined && !cases.some((c) => familyOf(c.d) === f.name && c.entropy !== undefined)).map((f) => f.name);
  t.same(lacking, [], 'every family with an entropy has it checked');
  t.end();
});

/**
 * In 200 dimensions det(scale_tril) leaves the range of float64 (0.01²⁰⁰ = 1e-400): the
 * log-determinant must be summed from the logs of the diagonal.
 */
const highDimensional: readonly { program: string; expected: number }[] = [
  // scipy.stats.multivariate_normal(np.zeros(200), 1e-4 * np.eye(200)).entropy()
  { program: 'entropy(mvnormal(zeros(200), 0.01 * identity(200)))', expected: -637.2463305566838 },
  // scipy.stats.multivariate_normal(np.zeros(200), 1e-4 * np.eye(200)).logpdf(np.full(200, 0.01))
  { program: 'log_prob(mvnormal(zeros(200), 0.01 * identity(200)), 0.01 * ones(200))', expected: 637.2463305566838 },
];

t.test('mvnormal in 200 dimensions agrees with scipy', (t) => {
  for (const c of highDimensional) {
    const got = valueOf(t, c.program, c.program);
    if (got !== null) assertClose(t, got, c.expected, c.program, TIGHT);
  }
  t.end();
});

/**
 * The relaxed densities have no scipy class: they must integrate to 1. In logit coordinates
 * (x = sigmoid(y), or x = softmax([y₁, y₂, 0]) on the 3-simplex, with Jacobians x₁x₂ and
 * x₁x₂x₃) the integrands are smooth and decay exponentially, so the trapezoid rule on a wide
 * grid is exact to rounding; the temperatures (at least 1.2: y has scale 1 / temperature) keep the tails
 * beyond |y| = 25 below 1e-12.
 */
const STEP = 0.02;
const REACH = 25;
const ys = Array.from({ length: Math.round((2 * REACH) / STEP) + 1 }, (_, i) => -REACH + i * STEP);
const sigmoid = (y: number): number => 1 / (1 + Math.exp(-y));

interface Normalisation {
  d: string;
  /** The points, and dx/dy at each: the trapezoid weights are STEP^dim · |dx/dy|. */
  points: () => { x: Json; jacobian: number[]; step: number };
}

const onLine = (): { x: Json; jacobian: number[]; step: number } => ({ x: ys.map(sigmoid), jacobian: ys.map((y) => sigmoid(y) * sigmoid(-y)), step: STEP });
const onSegment = (): { x: Json; jacobian: number[]; step: number } => ({ x: ys.map((y) => [sigmoid(y), sigmoid(-y)]), jacobian: ys.map((y) => sigmoid(y) * sigmoid(-y)), step: STEP });
/** softmax([y₁, y₂, 0]) over a coarser grid (0.1: the integrand's scale is 1 / temperature), with Jacobian x₁x₂x₃. */
const onTriangle = (): { x: Json; jacobian: number[]; step: number } => {
  const step = 0.1;
  const axis = Array.from({ length: Math.round(40 / step) + 1 }, (_, i) => -20 + i * step);
  const x: number[][] = [];
  const jacobian: number[] = [];
  for (const y1 of axis) {
    for (const y2 of axis) {
      const top = Math.max(y1, y2, 0);
      const e = [Math.exp(y1 - top), Math.exp(y2 - top), Math.exp(-top)];
      const s = e[0] + e[1] + e[2];
      const p = e.map((v) => v / s);
      x.push(p);
      jacobian.push(p[0] * p[1] * p[2]);
    }
  }
  return { x, jacobian, step: step * step };
};

const normalisations: readonly Normalisation[] = [
  { d: 'relaxed_bernoulli(1.2, 0.3)', points: onLine },
  { d: 'relaxed_bernoulli(2.5, 0.9)', points: onLine },
  { d: 'relaxed_categorical(1.2, [0.3, 0.7])', points: onSegment },
  { d: 'relaxed_categorical(2.5, [0.9, 0.1])', points: onSegment },
  { d: 'relaxed_categorical(1.5, [0.2, 0.3, 0.5])', points: onTriangle },
];

function assertIntegratesToOne(t: Test, c: Normalisation): void {
  const { x, jacobian, step } = c.points();
  const logProb = valueOf(t, `log_prob(${c.d}, x)`, `log_prob(${c.d}, x)`, { x });
  if (logProb === null) return;
  let total = 0;
  for (let i = 0; i < jacobian.length; i++) total += Math.exp(logProb.data[i]) * jacobian[i] * step;
  assertClose(t, total, 1, `∫ exp(log_prob(${c.d}, x)) dx`, { rtol: 0, atol: 1e-10 });
}

t.test('the relaxed densities integrate to 1', (t) => {
  for (const c of normalisations) assertIntegratesToOne(t, c);
  t.end();
});
