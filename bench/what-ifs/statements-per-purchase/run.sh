#!/usr/bin/env bash
# What-if (docs/purchases.md § Eighth round): the database's side of one benchmark purchase, driven by pgbench
# without the service, sent three ways on the same scratch database:
#   ten-statements    the statements the service sends today (BEGIN, key lock, key read, listing, debit, order and
#                     lines, fulfillment and event, inventory grant, key response, COMMIT), copied from a recording,
#                     each with its own Sync, as node-postgres sends them
#   ten-statements-one-sync  the same ten in one pipeline with a single Sync (what libpq's pipeline mode sends)
#   seven-statements  the same with the four writes merged into one statement (one CTE chain)
#   one-statement     the same work in one PL/pgSQL function (purchase-function.sql), called in autocommit
# plus pgbench's own tpcb-like as the reference. Runs alternate, three rounds. Never point it at a real database.
#
#   bash bench/what-ifs/statements-per-purchase/run.sh      # WHATIF_SECONDS=10 WHATIF_ROUNDS=3 WHATIF_CLIENTS=16
set -euo pipefail
cd "$(dirname "$0")"
DB=bb_whatif_statements
URL="postgres://postgres@127.0.0.1:5432/$DB"
SECONDS_EACH=${WHATIF_SECONDS:-10}
ROUNDS=${WHATIF_ROUNDS:-3}
CLIENTS=${WHATIF_CLIENTS:-16}
PGBENCH=$(command -v pgbench || ls -d /usr/lib/postgresql/*/bin/pgbench | sort -V | tail -n1)
psql_() { psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -q "$@"; }

psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
trap 'psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"; psql_ -d postgres -c "DROP DATABASE IF EXISTS ${DB}_tpcb WITH (FORCE)"' EXIT
(cd ../../.. && npx tsx -e "import('./bench/seed.ts').then((m) => m.migrateDatabase('$URL'))")
psql_ -d $DB -f seed.sql -f purchase-function.sql
psql_ -d postgres -c "CREATE DATABASE ${DB}_tpcb"
"$PGBENCH" -h 127.0.0.1 -U postgres -i -q -s 10 ${DB}_tpcb >/dev/null 2>&1

run() { "$PGBENCH" -h 127.0.0.1 -U postgres -n -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" "$@" 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'; }
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round: tpcb-like $(run ${DB}_tpcb) TPS;" \
    "ten statements $(run -M prepared -f ten-statements.pgbench $DB);" \
    "ten, one Sync $(run -M prepared -f ten-statements-one-sync.pgbench $DB);" \
    "seven $(run -M prepared -f seven-statements.pgbench $DB);" \
    "one function call $(run -M prepared -f one-statement.pgbench $DB) purchases/s"
done
