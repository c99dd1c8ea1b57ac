/**
 * The baseline of `npm run bench:http`: a bare fastify server answering `POST /v1/grad` with a
 * static JSON body, so that what it costs is HTTP and JSON only. It parses the request as adjoint
 * does and answers by the program sent: for the MLP request, an answer of that request's shape
 * (a value, W1 4x12, b1 12, W2 12x3, b2 3) and about the size of adjoint's (1.6-2.1 kB, 2.0 kB
 * here); for anything else, the lab expression's answer.
 */
import Fastify from 'fastify';

const MLP = 'H = relu(X * W1 + b1)\ncross_entropy(H * W2 + b2, y)';
const tiny = { value: 2.579425538604203, grad: { x: 5.077582561890373, y: 0.5 } };
const g = 0.1234567890123457;
const matrix = (m: number, n: number): number[][] => Array.from({ length: m }, () => new Array<number>(n).fill(g));
const mlp = { value: g, grad: { W1: matrix(4, 12), b1: new Array<number>(12).fill(g), W2: matrix(12, 3), b2: [g, g, g] } };

const app = Fastify({ logger: false });
app.post<{ Body: { program?: unknown } }>('/v1/grad', async (request) => (request.body.program === MLP ? mlp : tiny));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
