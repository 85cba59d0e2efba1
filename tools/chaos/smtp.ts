// A real SMTP server whose behaviour the harness switches at run time: accept, reject every message with a
// temporary 451 (a mail provider having a bad minute), or hang (take the message and never answer, the failure
// that only timeouts survive). Leaving 'hang' answers the held messages the way the new mode answers: 'accept'
// delivers them late, 'reject' fails them with 451.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo, Server } from 'node:net';

export type SmtpMode = 'accept' | 'reject' | 'hang';

export interface ReceivedMail {
  to: string[];
  messageId: string | null;
  raw: string;
}

export interface ChaosSmtp {
  readonly url: string;
  readonly mails: readonly ReceivedMail[];
  readonly rejected: number;
  /** Messages taken in 'hang' mode (each one a send left waiting). */
  readonly hung: number;
  mode: SmtpMode;
  setMode(mode: SmtpMode): void;
  close(): Promise<void>;
}

export async function startChaosSmtp(options: { socketTimeoutMs?: number } = {}): Promise<ChaosSmtp> {
  const mails: ReceivedMail[] = [];
  const waiting = new Set<() => void>();
  let rejected = 0;
  let hung = 0;
  let mode: SmtpMode = 'accept';
  const temporaryFailure = () => Object.assign(new Error('4.3.0 mail system temporarily unavailable'), { responseCode: 451 });

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    closeTimeout: 1000,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const answer = () => {
          if (mode === 'reject') {
            rejected++;
            return callback(temporaryFailure());
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), messageId: /^Message-ID:\s*(.+)$/im.exec(raw)?.[1]?.trim() ?? null, raw });
          callback();
        };
        if (mode === 'hang') {
          hung++;
          waiting.add(answer);
          return;
        }
        answer();
      });
    },
  });
  // A client killed mid-session (the worker SIGKILLed mid-send) resets its socket: expected here, not a crash.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
  // socketTimeout bounds a hung send on the client side; nodemailer takes it from the URL's query string.
  const url = `smtp://127.0.0.1:${port}?ignoreTLS=true&socketTimeout=${options.socketTimeoutMs ?? 5000}`;

  const smtp: ChaosSmtp = {
    url,
    mails,
    get rejected() {
      return rejected;
    },
    get hung() {
      return hung;
    },
    get mode() {
      return mode;
    },
    set mode(next: SmtpMode) {
      smtp.setMode(next);
    },
    setMode(next) {
      mode = next;
      if (next !== 'hang') {
        for (const answer of waiting) answer();
        waiting.clear();
      }
    },
    async close() {
      smtp.setMode('accept');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return smtp;
}
