/**
 * The course widgets' files over HTTP (routes/widget.ts): /widget/adjoint.js to any origin
 * (ACAO *, CORP cross-origin, where every other response is same-origin) as JavaScript, with an
 * ETag that a conditional request gets 304 for, br or gzip as accepted (each decoding to the
 * same bytes), its source map; / is the playground under a strict CSP; an unknown file is a
 * problem; none of it needs an API key. The server here runs from src/: the bundle is built in
 * memory, as in development.
 */
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import t from 'tap';
import { chooseEncoding } from '../../src/server/routes/widget.js';
import { send, startServer } from './harness.js';

const ORIGIN = 'https://course.example.org';

t.test('chooseEncoding: brotli before gzip, q=0 refuses, none without the header', async (t) => {
  const cases: [string | undefined, 'br' | 'gzip' | null][] = [
    [undefined, null],
    ['gzip, deflate, br', 'br'],
    ['gzip', 'gzip'],
    ['br;q=0, gzip;q=0.5', 'gzip'],
    ['identity', null],
    ['*', 'br'],
    ['*;q=0, gzip', 'gzip'],
  ];
  for (const [header, expected] of cases) t.equal(chooseEncoding(header), expected, `Accept-Encoding: ${header}`);
});

t.test('/widget/adjoint.js: JavaScript for any origin, cached by ETag, compressed as accepted', async (t) => {
  const { base } = await startServer(t, { CORS_ORIGINS: 'https://other.example.org', API_KEYS: 'course-key-1' });
  const plain = await send(base, '/widget/adjoint.js', { headers: { origin: ORIGIN, 'accept-encoding': 'identity' } });
  t.equal(plain.status, 200, 'no API key needed for the module');
  t.match(plain.headers.get('content-type'), /^text\/javascript/, 'content-type: text/javascript');
  t.equal(plain.headers.get('access-control-allow-origin'), '*', 'any origin may load it');
  t.equal(plain.headers.get('cross-origin-resource-policy'), 'cross-origin', "CORP cross-origin (helmet's same-origin would block it)");
  t.match(plain.headers.get('cache-control'), /public, max-age=\d+/, 'cacheable');
  t.equal(plain.headers.get('content-encoding'), null, 'identity: not encoded');
  t.match(plain.text, /customElements\.define/, 'the module defines the elements');
  for (const tag of ['adjoint-grad', 'adjoint-trace', 'adjoint-sample', 'adjoint-optimize', 'adjoint-check']) t.match(plain.text, tag, `it names ${tag}`);
  t.notMatch(plain.text, /\beval\(|new Function\(/, 'no eval, no new Function');
  t.match(plain.text, /sourceMappingURL=adjoint\.js\.map/, 'it links its source map');
  const etag = plain.headers.get('etag');
  t.match(etag, /^"[\w-]+"$/, 'a strong ETag');

  const again = await send(base, '/widget/adjoint.js', { headers: { 'if-none-match': etag!, 'accept-encoding': 'identity' } });
  t.equal(again.status, 304, 'If-None-Match with the ETag: 304');
  t.equal(again.text, '', '304: no body');
  const weak = await send(base, '/widget/adjoint.js', { headers: { 'if-none-match': `"other", W/${etag}`, 'accept-encoding': 'identity' } });
  t.equal(weak.status, 304, 'a weak tag in a list matches too');
  const stale = await send(base, '/widget/adjoint.js', { headers: { 'if-none-match': '"stale"', 'accept-encoding': 'identity' } });
  t.equal(stale.status, 200, 'another tag: the file');

  // undici's fetch decodes what it is sent: the raw bytes come through a plain socket request below.
  const { request } = await import('node:http');
  const raw = (encoding: string) =>
    new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      request(`${base}/widget/adjoint.js`, { headers: { 'accept-encoding': encoding } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      })
        .on('error', reject)
        .end();
    });
  const br = await raw('gzip, br');
  t.equal(br.headers['content-encoding'], 'br', 'br preferred');
  t.equal(br.headers.vary, 'Accept-Encoding', 'Vary: Accept-Encoding');
  t.not(br.headers.etag, etag, 'each encoding its own ETag');
  t.equal(brotliDecompressSync(br.body).toString('utf8'), plain.text, 'br decodes to the module');
  const gz = await raw('gzip');
  t.equal(gz.headers['content-encoding'], 'gzip', 'gzip when br is not accepted');
  t.equal(gunzipSync(gz.body).toString('utf8'), plain.text, 'gzip decodes to the module');
  t.ok(gz.body.length < 30 * 1024, `adjoint.js gzipped is ${gz.body.length} bytes, within the 30 kB budget`);

  const map = await send(base, '/widget/adjoint.js.map');
  t.equal(map.status, 200);
  t.match(map.headers.get('content-type'), /^application\/json/);
  t.ok(((map.json as { sources?: string[] }).sources ?? []).some((s) => s.endsWith('src/widget/grad.ts')), "the map's sources are the widget's TypeScript");

  const missing = await send(base, '/widget/nothing.js');
  t.equal(missing.status, 404);
  t.match(missing.headers.get('content-type'), /^application\/problem\+json/);
  t.equal((missing.json as { code: string }).code, 'NOT_FOUND');
  const page = await send(base, '/widget/index.html');
  t.equal(page.status, 404, 'the playground is served at / only');
});

t.test('/ is the playground: HTML under a strict CSP, loading the module and its own script', async (t) => {
  const { base } = await startServer(t);
  const page = await send(base, '/');
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  const csp = page.headers.get('content-security-policy') ?? '';
  t.match(csp, /script-src 'self'/, 'scripts from the service only');
  t.match(csp, /style-src 'self'/, 'styles from the service only');
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'nothing inline, no eval');
  t.equal(page.headers.get('cross-origin-resource-policy'), 'same-origin', 'the page itself keeps the same-origin policy');
  t.match(page.text, '<script type="module" src="widget/adjoint.js"></script>');
  t.notMatch(page.text, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  t.notMatch(page.text, /\sstyle=/, 'no style attribute');
  for (const tag of ['adjoint-grad', 'adjoint-trace', 'adjoint-sample', 'adjoint-optimize', 'adjoint-check']) t.match(page.text, `<${tag} `, `the page has ${tag}`);
  for (const file of ['playground.js', 'playground.css']) {
    const reply = await send(base, `/widget/${file}`);
    t.equal(reply.status, 200, `/widget/${file}`);
  }
  const openapi = (await send(base, '/openapi.json')).json as { paths: Record<string, unknown> };
  t.notOk(Object.keys(openapi.paths).some((p) => p === '/' || p.startsWith('/widget')), 'no widget route in OpenAPI');
});
