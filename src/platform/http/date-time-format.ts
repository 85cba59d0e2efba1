// Every `date-time` a request may carry must be an instant PostgreSQL stores and gives back as we sent it. The
// format's own check is RFC 3339 syntax only: an offset moves 9999-12-31T23:59:59-14:00 into year 10000 in UTC, and
// PostgreSQL rounds …59.9999999Z to microseconds, into year 10000 too; stored, such a value reads back as
// "+010000-…", which no response schema accepts, so every read showing it answered 500 (a listing's window broke the
// whole storefront, a campaign's every admin list). Year 0 (0001-01-01T00:00:00+01:00) has no PostgreSQL form at all.

/** The part of the Ajv instance this needs (Ajv comes with Fastify's validator compiler, not as our dependency). */
interface FormatRegistry {
  formats: Record<string, unknown>;
  addFormat(name: string, format: { type: 'string'; validate: (value: string) => boolean }): unknown;
}

const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
// The last whole second: PostgreSQL may round a later fraction of it up into year 10000.
const LATEST = Date.parse('9999-12-31T23:59:59.000Z');

export function isStorableInstant(value: string): boolean {
  const at = Date.parse(value);
  return at >= EARLIEST && at <= LATEST;
}

/** Ajv's onCreate hook: `date-time` keeps its RFC 3339 check (ajv-formats) and adds the storable range. */
export function restrictDateTimeToStorableInstants(ajv: FormatRegistry): void {
  const rfc3339 = ajv.formats['date-time'];
  const syntax = typeof rfc3339 === 'object' && rfc3339 !== null && 'validate' in rfc3339 && typeof rfc3339.validate === 'function'
    ? (rfc3339.validate as (value: string) => boolean)
    : undefined;
  if (!syntax) throw new Error('ajv has no date-time format to extend (ajv-formats not loaded)');
  ajv.addFormat('date-time', { type: 'string', validate: (value: string) => syntax(value) && isStorableInstant(value) });
}
