/** The baseline of `npm run bench:http`: a bare fastify server answering a static JSON body. */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
const body = { value: 2.579425538604203, grad: { x: 5.077582561890373, y: 0.5 } };
app.post('/v1/grad', async () => body);
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
