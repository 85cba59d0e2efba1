// Cached answers are rendered once per cache fill: the JSON text (serialized through the route's response
// schema), its weak ETag, and, the first time a client that accepts gzip asks for it, a gzip copy. A cache hit
// then costs no serialization and no compression, and a 10 KB storefront page travels as ~2 KB.
//
// Both encodings share one weak ETag: a weak validator names content that is semantically the same (RFC 9110
// §8.8.1), which the gzip and identity copies are, so If-None-Match works whichever copy the client holds.
// `Vary: Accept-Encoding` keeps shared caches from handing the gzip copy to a client that did not ask for it.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface RenderedBody {
  body: string;
  etag: string;
}

/** Below this size gzip saves less than its header and the client's work costs. */
const MIN_GZIP_BYTES = 1024;
const JSON_TYPE = 'application/json; charset=utf-8';

const gzipped = new WeakMap<RenderedBody, Buffer>();
const renderings = new WeakMap<object, RenderedBody>();

export function weakEtag(body: string): string {
  return `W/"${createHash('sha1').update(body).digest('base64url')}"`;
}

export function render(value: unknown, serialize: (value: unknown) => string): RenderedBody {
  const body = serialize(value);
  return { body, etag: weakEtag(body) };
}

/**
 * The rendering of a cached value, made on its first use and kept as long as the value itself: for caches that
 * hold values (not text), so every hit on the same cached object reuses one serialization.
 */
export function renderOnce(value: object, serialize: (value: unknown) => string): RenderedBody {
  let rendered = renderings.get(value);
  if (!rendered) {
    rendered = render(value, serialize);
    renderings.set(value, rendered);
  }
  return rendered;
}

/** If-None-Match against our weak ETag, with weak comparison (RFC 9110 §13.1.2): W/"x" and "x" match. */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = etag.slice(2);
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === etag || tag === opaque || (tag.startsWith('W/') && tag.slice(2) === opaque);
  });
}

// Clients send a handful of distinct Accept-Encoding values, and parsing one was ~1.5 % of a cached read's CPU: the
// answers are remembered, in a map that is simply emptied when a hostile client sends too many different ones.
const MAX_REMEMBERED_ENCODINGS = 256;
const gzipAnswers = new Map<string, boolean>();

/** True when Accept-Encoding allows gzip: listed (or `*`) without `q=0`, and not refused by name. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let answer = gzipAnswers.get(header);
  if (answer === undefined) {
    answer = parseAcceptsGzip(header);
    if (gzipAnswers.size >= MAX_REMEMBERED_ENCODINGS) gzipAnswers.clear();
    gzipAnswers.set(header, answer);
  }
  return answer;
}

function parseAcceptsGzip(header: string): boolean {
  let wildcard = false;
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.split(';');
    const coding = name.trim().toLowerCase();
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    const allowed = q === undefined || Number(q.slice(2)) > 0;
    if (coding === '*') wildcard = allowed;
    else return allowed;
  }
  return wildcard;
}

function gzipOf(rendered: RenderedBody): Buffer {
  let copy = gzipped.get(rendered);
  if (!copy) {
    copy = gzipSync(rendered.body);
    gzipped.set(rendered, copy);
  }
  return copy;
}

/** Sends a rendered body with its validators: 304 when the client's copy is current, gzip when it is welcome. */
export function sendRendered(request: FastifyRequest, reply: FastifyReply, rendered: RenderedBody, cacheControl: string): FastifyReply {
  reply.header('etag', rendered.etag).header('cache-control', cacheControl).header('vary', 'accept-encoding');
  if (matchesEtag(request.headers['if-none-match'], rendered.etag)) return reply.code(304).send();
  reply.header('content-type', JSON_TYPE);
  if (rendered.body.length >= MIN_GZIP_BYTES && acceptsGzip(request.headers['accept-encoding'])) {
    return reply.header('content-encoding', 'gzip').send(gzipOf(rendered));
  }
  return reply.send(rendered.body);
}
