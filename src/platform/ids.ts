// Ids the service chooses for rows it appends (orders, their lines, fulfillments, grants, adjustments) are
// UUIDv7 (RFC 9562): the creation time in milliseconds, then 74 random bits. A random v4 id lands at a random
// place in its primary key and in every index that carries it (lines by order, fulfillments by line, ledger entries
// by transfer, transfers by reference), so at volume each insert reads and dirties another leaf page, and after a
// checkpoint writes it whole to the WAL. New v7 keys share the rightmost leaves. Measured in docs/performance.md;
// the database's own defaults follow the same rule (migration 0079). The time it reveals is every row's createdAt.
import { v7 } from 'uuid';

export function newRowId(): string {
  return v7();
}
