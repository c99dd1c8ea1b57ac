/**
 * Prometheus metrics (prom-client), in a registry of this app's own: request counts and
 * latencies by route and status, the worker queue's depth, busy and replaced workers, evaluations by kind.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Problem } from '../../compute/problem.js';
import type { Cancellation } from '../cancellation.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: { readonly registry: Registry; readonly evaluations: Counter<'endpoint' | 'outcome'> };
  }
}

/**
 * An evaluation's `outcome` label when it failed: `cancelled` when its client cancelled it (went
 * away, or sent a WebSocket `cancel`), which is no fault of the service's; else `error`.
 */
export function failedOutcome(error: unknown, cancel: Cancellation): 'cancelled' | 'error' {
  return cancel.cancelled || (error instanceof Problem && error.code === 'CANCELLED') ? 'cancelled' : 'error';
}

export default fp(
  async (app: FastifyInstance) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const requests = new Counter({ name: 'adjoint_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'method', 'status'], registers: [registry] });
    const latency = new Histogram({
      name: 'adjoint_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['route', 'method'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    });
    const evaluations = new Counter({ name: 'adjoint_evaluations_total', help: 'Evaluations by endpoint and outcome (ok, error, or cancelled by the client)', labelNames: ['endpoint', 'outcome'], registers: [registry] });
    new Gauge({ name: 'adjoint_worker_queue_depth', help: 'Tasks waiting for a worker', registers: [registry], collect() { this.set(app.workers.queued); } });
    new Gauge({ name: 'adjoint_workers_busy', help: 'Workers computing a task', registers: [registry], collect() { this.set(app.workers.running); } });
    new Counter({
      name: 'adjoint_workers_replaced_total',
      help: 'Workers stopped (a hard deadline, a cancelled request that would not stop) or dead (memory), and replaced',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(app.workers.replaced);
      },
    });
    new Counter({
      name: 'adjoint_evaluations_inline_total',
      help: 'Requests known to take microseconds, computed on the event loop rather than sent to a worker (INLINE_BELOW_US)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(app.workers.inlined);
      },
    });
    new Counter({
      name: 'adjoint_evaluations_handed_over_total',
      help: 'Requests begun on the event loop that went past its budgets, and so were computed by a worker',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(app.workers.handedOver);
      },
    });
    app.decorate('metrics', { registry, evaluations });
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      requests.inc({ route, method: request.method, status: String(reply.statusCode) });
      latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
      done();
    });
  },
  { name: 'metrics', dependencies: ['workers'] },
);
