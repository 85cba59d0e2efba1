// Reward campaigns (admin): how tournaments, promotions and collabs are named, windowed and attributed. The
// database's constraints are the truth (unique slug, window, kind); the checks here turn the common mistakes
// into precise messages first, and `translate` turns constraint violations into 4xx (values PostgreSQL cannot store
// at all, such as year 0000, are answered 400 by the platform's toProblem for every route).
import type { Database } from '../../platform/db.js';
import { DomainError, PG, invalid, notFound, pgConstraint, pgErrorCode } from '../../platform/errors.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';
import * as repo from './campaigns.repository.js';
import { containsNul } from './grants.js';
import {
  MAX_ATTRIBUTES_BYTES, type CampaignDetailView, type CampaignView, type CreateCampaignInput, type ListCampaignsFilter,
  type UpdateCampaignInput,
} from './campaigns.schemas.js';

const WINDOW_MESSAGE = 'endsAt must be after startsAt';

function translate(error: unknown): never {
  const code = pgErrorCode(error);
  const constraint = pgConstraint(error) ?? '';
  if (code === PG.uniqueViolation && constraint.includes('slug')) throw new DomainError('conflict', 'a campaign with this slug already exists');
  if (code === PG.checkViolation && constraint === 'reward_campaign_window') throw invalid(WINDOW_MESSAGE, { constraint });
  if (code === PG.checkViolation) throw invalid('the campaign violates a rule', { constraint });
  throw error;
}

function checkCampaign(campaign: repo.CampaignColumns): void {
  const { startsAt, endsAt, attributes } = campaign;
  if (startsAt !== null && endsAt !== null && Date.parse(endsAt) <= Date.parse(startsAt)) throw invalid(WINDOW_MESSAGE);
  const json = JSON.stringify(attributes);
  if (Buffer.byteLength(json) > MAX_ATTRIBUTES_BYTES) throw invalid(`attributes must be at most ${MAX_ATTRIBUTES_BYTES} bytes of JSON`);
  if (containsNul(attributes)) throw invalid('attributes cannot contain the character U+0000');
}

// The cursor comes back from clients: a timestamp JavaScript accepts but PostgreSQL rejects or rolls over (Feb 31)
// must be a 400, so only the exact shape this module encodes is taken.
const EXACT_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function decodeKeyset(cursor: string | undefined): repo.Keyset | undefined {
  const values = decodeCursor('campaigns', cursor, ['timestamp', 'uuid']);
  if (!values) return undefined;
  const createdAt = values[0] as string;
  if (!EXACT_TIMESTAMP.test(createdAt) || new Date(createdAt).toISOString().slice(0, 19) !== createdAt.slice(0, 19)) {
    throw invalid('invalid cursor');
  }
  return { createdAt, id: values[1] as string };
}

export function createCampaignsAdmin({ db }: { db: Database }) {
  return {
    async create(input: CreateCampaignInput): Promise<CampaignView> {
      const columns = { name: input.name, startsAt: input.startsAt ?? null, endsAt: input.endsAt ?? null, attributes: input.attributes ?? {} };
      checkCampaign(columns);
      return repo.insertCampaign(db, { ...columns, slug: input.slug, kind: input.kind }).catch(translate);
    },

    async list(filter: ListCampaignsFilter): Promise<{ items: CampaignView[]; nextCursor: string | null }> {
      const page = await repo.listCampaigns(db, filter, decodeKeyset(filter.cursor));
      return { items: page.items, nextCursor: page.last ? encodeCursor('campaigns', [page.last.createdAt, page.last.id]) : null };
    },

    /** The campaign and its totals; read on the primary so an operator sees the grant just made. */
    async get(id: string): Promise<CampaignDetailView> {
      const [campaign, grants] = await Promise.all([repo.findCampaign(db, id), repo.campaignTotals(db, id)]);
      if (!campaign) throw notFound('campaign');
      return { ...campaign, grants };
    },

    /** Merged under a row lock, so the window is judged on the campaign the PATCH produces. */
    async update(id: string, patch: UpdateCampaignInput): Promise<CampaignView> {
      return db
        .withTx(async (tx) => {
          const current = await repo.findCampaign(tx, id, { forUpdate: true });
          if (!current) throw notFound('campaign');
          const merged = {
            name: patch.name ?? current.name,
            startsAt: patch.startsAt !== undefined ? patch.startsAt : current.startsAt,
            endsAt: patch.endsAt !== undefined ? patch.endsAt : current.endsAt,
            attributes: patch.attributes ?? current.attributes,
          };
          checkCampaign(merged);
          return (await repo.updateCampaign(tx, id, merged))!;
        })
        .catch(translate);
    },
  };
}

export type CampaignsAdmin = ReturnType<typeof createCampaignsAdmin>;
