// Schemas shared by every module's routes: ids, pagination, problem responses.
import { Type, type TSchema } from '@sinclair/typebox';

// ajv-formats' `uuid` also takes a `urn:uuid:` prefix, which PostgreSQL refuses: the pattern keeps ids to the plain form.
export const Uuid = Type.String({ format: 'uuid', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });
export const IdParams = Type.Object({ id: Uuid });
/** The query of a route that takes none: an unknown parameter is 400, as on every list (docs/catalog.md § Bad input). */
export const NoQuery = Type.Object({}, { additionalProperties: false });
export const Timestamp = Type.String({ format: 'date-time' });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 20 });
export const Cursor = Type.String({ minLength: 1, maxLength: 512 });
/** `fields=a,b,c`: sparse fieldsets. */
export const Fields = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9]*(,[A-Za-z][A-Za-z0-9]*)*$', maxLength: 500 });

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.Optional(Type.String()),
  },
  { $id: 'Problem', additionalProperties: true },
);

const DISPLAY_TEXT_PATTERN = '^(?=[\\s\\S]*[^\\s\\p{Cc}\\p{Cf}])[^\\p{Cs}]*$';
/**
 * A name, title or reason people read: 1–max characters, at least one of them visible — not whitespace, a control
 * character or an invisible format character such as a zero-width space (such a name lists as nothing) — and no lone
 * surrogate, which cannot be stored as UTF-8 (it would come back as U+FFFD, another text than the one sent).
 */
export const DisplayText = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: DISPLAY_TEXT_PATTERN });

/**
 * The header every POST that changes money, stock or inventory requires (API.md § Idempotency; without it 400
 * validation_failed). Other creates may take it optionally (`Type.Partial`, as POST /user/characters does).
 */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.String({
    minLength: 1,
    maxLength: 255,
    description: 'Scoped to the caller; the same key and request within 24 h replays the first response (Idempotent-Replayed: true)',
  }),
});

/** The empty answer to a conditional GET whose ETag is still current (rendered-body.ts). */
export const NotModified = Type.Null({ description: 'Not Modified: the If-None-Match ETag is current' });
export const Page = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) });

/** Standard error responses so the OpenAPI document lists them. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, Type.Ref(ProblemSchema)]));
