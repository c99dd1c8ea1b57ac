/**
 * The worker pool as a plugin: `app.workers` (see src/workers/pool.ts), closed with the app.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { createWorkerPool, type WorkerPool } from '../../workers/pool.js';

declare module 'fastify' {
  interface FastifyInstance {
    workers: WorkerPool;
  }
}

export default fp(
  async (app: FastifyInstance, opts: { config: Config; workerFile?: string }) => {
    const pool = createWorkerPool(opts.config, (err) => app.log.error({ err }, 'a worker failed outside any request'), opts.workerFile);
    app.decorate('workers', pool);
    app.addHook('onClose', async () => pool.close());
  },
  { name: 'workers' },
);
