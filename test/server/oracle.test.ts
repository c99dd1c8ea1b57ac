/**
 * PyTorch's numbers (test/vectors/torch-oracle.json) over HTTP: each case's request POSTed
 * to /v1/<endpoint> of a running server, the response's fields compared with the case's
 * `expect` under its `tol`; the pending cases (one list, test/oracle-cases.ts) still fail for
 * want of their feature, over the wire too.
 */
import t from 'tap';
import { assertFields } from '../helpers.js';
import { oracle, pending, runnable } from '../oracle-cases.js';
import { describe, mediaType, post, startServer } from './harness.js';

const { base } = await startServer(t, { WORKERS: '1' });

const STATUS_OF = { NOT_FOUND: 404, UNKNOWN_NAME: 422 } as const;

t.test('every runnable oracle case over HTTP matches PyTorch within its tolerance, as JSON with a request id', async (t) => {
  t.ok(runnable.length > 0, 'there are runnable cases');
  for (const c of runnable) {
    const reply = await post(base, c.endpoint, c.request);
    if (reply.status !== 200) {
      t.fail(`${c.name}: POST /v1/${c.endpoint} answered ${describe(reply)}`);
      continue;
    }
    t.equal(mediaType(reply), 'application/json', `${c.name}: content-type application/json`);
    t.ok((reply.headers.get('x-request-id') ?? '').length > 0, `${c.name}: has an x-request-id`);
    assertFields(t, reply.json, c.expect, c.name, c.tol);
  }
});

t.test('pending oracle cases still fail over HTTP for want of their feature', async (t) => {
  for (const c of oracle.cases) {
    const why = pending[c.name];
    if (why === undefined) continue;
    const reply = await post(base, c.endpoint, c.request);
    const code = (reply.json as { code?: unknown } | undefined)?.code;
    t.strictSame(
      { status: reply.status, code },
      { status: STATUS_OF[why.failsWith], code: why.failsWith },
      `${c.name}: still ${STATUS_OF[why.failsWith]} ${why.failsWith} (${why.reason}); once it runs, take it off the pending list`,
    );
  }
});

t.test('the flat layout carries the same numbers over HTTP, one case per endpoint', async (t) => {
  const firstOfEachEndpoint = [...new Map(runnable.map((c) => [c.endpoint, c] as const).reverse()).values()];
  for (const c of firstOfEachEndpoint) {
    const options = { ...(c.request.options as Record<string, unknown> | undefined), layout: 'flat' };
    const reply = await post(base, c.endpoint, { ...c.request, options });
    if (reply.status !== 200) t.fail(`${c.name} (flat): answered ${describe(reply)}`);
    else assertFields(t, reply.json, c.expect, `${c.name} (flat)`, c.tol);
  }
});
