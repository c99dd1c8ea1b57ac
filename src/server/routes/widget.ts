/**
 * The course widgets (SPEC.md section 9): `GET /widget/<file>` serves the elements' module and
 * the playground's files to any page on any origin (`Access-Control-Allow-Origin: *` and
 * `Cross-Origin-Resource-Policy: cross-origin`, where every other response is same-origin), with
 * an ETag, a short cache lifetime and gzip or brotli as the client accepts; `GET /` is the
 * playground, under a strict Content-Security-Policy. None of it is part of the API's OpenAPI.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Problem } from '../../index.js';
import { widgetAssets, type WidgetAsset } from '../widget-assets.js';

/** What the playground may load: its own files, nothing inline, nothing from another origin. */
export const PLAYGROUND_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'self'",
].join('; ');

/** The encoding to send for an Accept-Encoding header: brotli, then gzip, else none (q=0 refuses). */
export function chooseEncoding(header: string | undefined): 'br' | 'gzip' | null {
  if (header === undefined) return null;
  const accepted = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find((m) => m !== null);
    accepted.set(name.trim(), q === undefined || q === null ? 1 : Number(q[1]));
  }
  const ok = (name: string): boolean => (accepted.get(name) ?? accepted.get('*') ?? 0) > 0;
  if (ok('br')) return 'br';
  if (ok('gzip')) return 'gzip';
  return null;
}

/** Whether If-None-Match names `etag` (weak or strong, or `*`). */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim().replace(/^W\//, '');
    return t === '*' || t === etag;
  });
}

async function send(request: FastifyRequest, reply: FastifyReply, file: WidgetAsset, extra: Record<string, string>): Promise<Buffer | FastifyReply> {
  const encoding = chooseEncoding(request.headers['accept-encoding']);
  const etag = encoding === null ? file.etag : `${file.etag.slice(0, -1)}-${encoding}"`;
  reply.headers({ 'cache-control': 'public, max-age=300', vary: 'Accept-Encoding', ...extra, 'content-type': file.type, etag });
  if (matches(request.headers['if-none-match'], etag)) return reply.code(304).send();
  if (encoding === null) return file.identity;
  reply.header('content-encoding', encoding);
  return encoding === 'br' ? file.br : file.gzip;
}

async function load(request: FastifyRequest): Promise<Map<string, WidgetAsset>> {
  try {
    return await widgetAssets();
  } catch (e) {
    request.log.error({ err: e }, 'the widget cannot be served');
    throw new Problem('NOT_FOUND', `the widget is not available on this server: ${(e as Error).message}`);
  }
}

export default async function widgetRoutes(app: FastifyInstance): Promise<void> {
  app.get<{ Params: { file: string } }>('/widget/:file', { schema: { hide: true } }, async (request, reply) => {
    const assets = await load(request);
    const { file } = request.params;
    const found = file === 'index.html' ? undefined : assets.get(file);
    if (found === undefined) throw new Problem('NOT_FOUND', `no widget file ${JSON.stringify(file.slice(0, 60))}; the module is /widget/adjoint.js`);
    // Any page may load the module (a course page on its own origin): not helmet's same-origin.
    return send(request, reply, found, { 'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin' });
  });

  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const assets = await load(request);
    return send(request, reply, assets.get('index.html')!, { 'content-security-policy': PLAYGROUND_CSP, 'cache-control': 'no-cache' });
  });
}
