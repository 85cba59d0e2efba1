// Outgoing mail over SMTP (nodemailer). Without SMTP_URL mails go to the log transport: the log line says a mail
// was "sent" and to whom, never the voucher code (a code in a log is a code anyone with log access can redeem).
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { Logger } from 'pino';

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Stable per fulfillment: a resend after a crash carries the same Message-ID, which mail stores deduplicate. */
  messageId: string;
}

export interface Mailer {
  readonly transport: 'smtp' | 'log';
  send(mail: Mail): Promise<void>;
  close(): void;
}

const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

export function createMailer({ smtpUrl, from, logger }: { smtpUrl: string | undefined; from: string; logger: Logger }): Mailer {
  if (!smtpUrl) {
    return {
      transport: 'log',
      async send(mail) {
        logger.info({ to: mail.to, subject: mail.subject, messageId: mail.messageId }, 'mail sent to the log transport (SMTP_URL unset; content withheld)');
      },
      close() {},
    };
  }
  const transporter = nodemailer.createTransport(smtpOptions(smtpUrl));
  return {
    transport: 'smtp',
    async send(mail) {
      await transporter.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, messageId: mail.messageId });
    },
    close() {
      transporter.close();
    },
  };
}

// nodemailer drops every other option when given `url`, so the URL is parsed here and the timeouts kept.
// Query parameters pass through as options (`?ignoreTLS=true`, `?socketTimeout=5000`).
//
// TLS: `smtps://` is TLS from the first byte, certificate verified. `smtp://` asks for plain SMTP; nodemailer
// still upgrades with STARTTLS when the server offers it, and with verification on, a server whose certificate
// cannot be verified (self-signed, expired: smtp-server's built-in one, most internal relays) failed every mail
// until it was dead-lettered. Such an upgrade is opportunistic (RFC 7435, as MTAs relay): encrypted, not
// verified — never worse than the plain SMTP the URL asked for. `?requireTLS=true` demands STARTTLS and verifies.
function smtpOptions(smtpUrl: string): SMTPTransport.Options {
  const url = new URL(smtpUrl);
  const options: Record<string, unknown> = { host: url.hostname, secure: url.protocol === 'smtps:', ...TIMEOUTS };
  if (url.port) options.port = Number(url.port);
  if (url.username) options.auth = { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
  for (const [key, value] of url.searchParams) {
    options[key] = value === 'true' ? true : value === 'false' ? false : value !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
  }
  if (url.protocol === 'smtp:' && options.requireTLS !== true) options.tls = { rejectUnauthorized: false };
  return options as SMTPTransport.Options;
}

/** `<fulfillment-id@domain-of-MAIL_FROM>` */
export function messageIdFor(fulfillmentId: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)/.exec(from)?.[1] ?? 'battlebucks.local';
  return `<fulfillment-${fulfillmentId}@${domain}>`;
}
