// Reward campaigns (tournaments, promotions, brand collabs): the admin API's bodies, query strings and responses.
import { Type, type Static } from '@sinclair/typebox';
import { Cursor, Fields, Limit, Nullable, Timestamp, Uuid } from '../../platform/http/schemas.js';

export const CampaignKindSchema = Type.Union(
  [Type.Literal('tournament'), Type.Literal('promotion'), Type.Literal('collab'), Type.Literal('other')],
  { description: 'tournament | promotion | collab | other' },
);

/** Serialized size cap of `attributes`: bounds what every read of the campaign carries. */
export const MAX_ATTRIBUTES_BYTES = 16 * 1024;
export const MAX_ATTRIBUTES_KEYS = 50;

// PostgreSQL text cannot hold U+0000, so it is refused here rather than failing in the database; a lone surrogate
// would be stored as U+FFFD (the name read back would not be the one sent), so it is refused too.
const Text = (minLength: number, maxLength: number) => Type.String({ minLength, maxLength, pattern: '^[^\\u0000\\p{Cs}]*$' });

/** Free-form JSON object; its serialized size is capped by the service (MAX_ATTRIBUTES_BYTES). */
const AttributesInput = Type.Record(Type.String(), Type.Unknown(), {
  maxProperties: MAX_ATTRIBUTES_KEYS,
  propertyNames: { maxLength: 100 },
  description: `free-form JSON object: at most ${MAX_ATTRIBUTES_KEYS} keys and ${MAX_ATTRIBUTES_BYTES} bytes`,
});

const campaignFields = {
  id: Uuid,
  slug: Type.String(),
  name: Type.String(),
  kind: CampaignKindSchema,
  startsAt: Nullable(Timestamp),
  endsAt: Nullable(Timestamp),
  attributes: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Timestamp,
};

export const CampaignSchema = Type.Object(campaignFields, { $id: 'Campaign' });
export type CampaignView = Static<typeof CampaignSchema>;

export const CampaignTotalsSchema = Type.Object(
  { count: Type.Integer(), gems: Type.Integer(), players: Type.Integer() },
  { description: 'what the campaign has given out: grants, gems in total, distinct players' },
);
export type CampaignTotals = Static<typeof CampaignTotalsSchema>;

export const CampaignDetailSchema = Type.Object({ ...campaignFields, grants: CampaignTotalsSchema }, { $id: 'CampaignDetail' });
export type CampaignDetailView = Static<typeof CampaignDetailSchema>;

const fields = {
  slug: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
  name: Text(1, 200),
  kind: CampaignKindSchema,
  startsAt: Type.Union([Timestamp, Type.Null()], { description: 'null = open from the start' }),
  endsAt: Type.Union([Timestamp, Type.Null()], { description: 'exclusive; null = never ends' }),
  attributes: AttributesInput,
};

export const CreateCampaignBody = Type.Object(
  {
    slug: fields.slug,
    name: fields.name,
    kind: fields.kind,
    startsAt: Type.Optional(fields.startsAt),
    endsAt: Type.Optional(fields.endsAt),
    attributes: Type.Optional(fields.attributes),
  },
  { additionalProperties: false },
);
export type CreateCampaignInput = Static<typeof CreateCampaignBody>;

/** slug and kind are fixed once created: grants and reports refer to them. */
export const UpdateCampaignBody = Type.Object(
  {
    name: Type.Optional(fields.name),
    startsAt: Type.Optional(fields.startsAt),
    endsAt: Type.Optional(fields.endsAt),
    attributes: Type.Optional(fields.attributes),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateCampaignInput = Static<typeof UpdateCampaignBody>;

export const ListCampaignsQuery = Type.Object(
  {
    limit: Limit,
    cursor: Type.Optional(Cursor),
    kind: Type.Optional(CampaignKindSchema),
    active: Type.Optional(Type.Boolean({ description: 'true: within its window now; false: not started or ended' })),
    fields: Type.Optional(Fields),
  },
  { additionalProperties: false },
);
export type ListCampaignsFilter = Omit<Static<typeof ListCampaignsQuery>, 'fields'>;
