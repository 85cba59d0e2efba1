// Voucher codes by email. The purchase transaction claims the codes (so a listing is out of stock exactly when
// its pool is empty and two buyers never share a code); a job mails them after commit.
//
// At most one mail per fulfillment, with one honest window: the worker records the attempt (attempts + 1,
// delivery_started_at) before it talks to SMTP and marks the fulfillment delivered right after the server
// accepts the message. If the process dies between the server's "250 OK" and that UPDATE, the retry sends the
// mail again — with the same Message-ID (derived from the fulfillment id), which mail stores deduplicate.
import type { Database } from '../../../platform/db.js';
import { DomainError } from '../../../platform/errors.js';
import type { CatalogService } from '../../catalog/index.js';
import type { UsersService } from '../../users/index.js';
import { messageIdFor, type Mailer } from '../email/mailer.js';
import { voucherMail } from '../email/voucher-mail.js';
import * as vouchers from '../vouchers.repository.js';
import { statusOf } from '../fulfillment.repository.js';
import { DeliveryError, type DeliveryHandler } from './types.js';

export interface EmailHandlerDeps {
  db: Database;
  users: UsersService;
  catalog: CatalogService;
  mailer: () => Mailer;
  mailFrom: string;
}

export function createEmailHandler({ db, users, catalog, mailer, mailFrom }: EmailHandlerDeps): DeliveryHandler {
  return {
    type: 'email',
    initialStatus: 'pending',
    describe: (line) => `${line.quantity} voucher code(s) reserved; mail queued`,
    async startInTx(tx, _order, lines) {
      for (const line of lines) {
        const claimed = await vouchers.claimCodes(tx, line.item.id, line.fulfillmentId, line.quantity);
        if (claimed < line.quantity) {
          throw new DomainError('out_of_stock', `no voucher codes left for ${line.item.name}`, { itemId: line.item.id });
        }
      }
    },
    async deliver(fulfillment) {
      const [user, codes, items] = await Promise.all([
        users.findUser(db, fulfillment.userId),
        vouchers.codesOf(db, fulfillment.id),
        catalog.getItemsInTx(db, [fulfillment.itemId]),
      ]);
      if (!user?.email) throw new DeliveryError('the player has no email address on record', { retryable: false });
      // The address is the identity provider's claim, taken as it came. nodemailer reads a list ("a@x, b@y") or a
      // display name as several recipients: the codes would go to someone else too. One plain address, or nothing.
      if (!isSingleAddress(user.email)) throw new DeliveryError('the email address on record is not a single email address', { retryable: false });
      if (codes.length === 0) throw new DeliveryError('no voucher code is reserved for this fulfillment', { retryable: false });
      const itemName = items[0]?.name ?? 'your voucher';
      const messageId = messageIdFor(fulfillment.id, mailFrom);
      // A refund may have cancelled the line since the lease was taken: look again right before the mail leaves, or the
      // player gets the gems back and the codes too. (A refund during the SMTP conversation itself cannot stop it.)
      if ((await statusOf(db, fulfillment.id))?.status !== 'pending') throw new DeliveryError('the line is no longer pending (refunded): no mail', { retryable: false });
      await mailer().send({ to: user.email, messageId, ...voucherMail({ itemName, codes, playerName: user.name, orderId: fulfillment.orderId }) });
      return { status: 'delivered', detail: `mailed to ${maskEmail(user.email)} (${mailer().transport})` };
    },
  };
}

const ADDRESS_PART = '[^\\s@<>()\\[\\],;:"\\\\]+';
const SINGLE_ADDRESS = new RegExp(`^${ADDRESS_PART}@${ADDRESS_PART}$`);

/** `local@domain` and nothing else: no list, no display name, no comment, no whitespace. */
export function isSingleAddress(email: string): boolean {
  return email.length <= 320 && SINGLE_ADDRESS.test(email);
}

/** p***@example.com: enough for support to recognise the address, not enough to harvest it from history. */
function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}
