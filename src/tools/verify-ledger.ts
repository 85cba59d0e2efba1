// `npm run ledger:verify`: audits the ledger of the database in DATABASE_URL, or of a stopped embedded service's
// PGLITE_DATA_DIR (its lock file refuses a directory the service still has open). Exit code 0 = every invariant
// holds, 1 = violations (printed), 2 = could not run. Read-only: safe against production.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config.js';
import { openDatabase } from '../platform/db.js';
import { verifyLedger } from '../modules/wallet/ledger-verifier.js';

async function main(): Promise<number> {
  const url = process.env.DATABASE_URL || undefined;
  const pgliteDataDir = process.env.PGLITE_DATA_DIR || undefined;
  if (!url && !pgliteDataDir) {
    console.error('set DATABASE_URL, or PGLITE_DATA_DIR of a stopped embedded service (an in-memory database lives only inside its process)');
    return 2;
  }
  // Opening a directory without a cluster would create one there (PGlite initialises an empty path): a typo left a
  // stray database behind and failed on a missing table. A read-only audit checks first and writes nothing.
  if (!url && pgliteDataDir && !existsSync(path.join(pgliteDataDir, 'PG_VERSION'))) {
    console.error(`PGLITE_DATA_DIR: ${pgliteDataDir} holds no embedded database; point it at the directory the stopped service used`);
    return 2;
  }
  const db = await openDatabase({ url, pgliteDataDir, poolSize: 1, statementTimeoutMs: 10 * 60_000 });
  try {
    const report = await verifyLedger(db);
    console.log(JSON.stringify(report, null, 2));
    if (!report.ok) console.error(`ledger: ${report.violations.length} violation(s) found`);
    else console.log(`ledger: OK (${report.transfers} transfers, ${report.userWallets} wallets)`);
    return report.ok ? 0 : 1;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A refusal with a reason (the directory is in use by the service): its one line, not a stack trace.
    if (error instanceof ConfigError) console.error(`ledger verification could not run: ${error.message}`);
    else console.error('ledger verification could not run:', error);
    process.exit(2);
  },
);
