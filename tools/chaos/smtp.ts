// A real SMTP server whose behaviour a test or the chaos harness switches at run time: accept, reject every
// message with a temporary 451 (a mail provider having a bad minute), or hang (take the message and never answer,
// the failure that only timeouts survive). Leaving 'hang' answers the held messages the way the new mode answers:
// 'accept' delivers them late, 'reject' fails them with 451. stop() and start() take it down and bring it back on
// the same port (an outage). The one SMTP server of the test suites (test/fulfillment, test/reliability) and of
// `npm run chaos`.
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
  readonly port: number;
  readonly mails: readonly ReceivedMail[];
  readonly rejected: number;
  /** Messages taken in 'hang' mode (each one a send left waiting). */
  readonly hung: number;
  mode: SmtpMode;
  setMode(mode: SmtpMode): void;
  /** Held messages will never be answered (their senders see the connection drop at stop()), whatever the mode. */
  forgetHeld(): void;
  /** Stops listening (an outage); start() listens again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startChaosSmtp(options: { socketTimeoutMs?: number } = {}): Promise<ChaosSmtp> {
  const mails: ReceivedMail[] = [];
  const waiting = new Set<() => void>();
  let rejected = 0;
  let hung = 0;
  let mode: SmtpMode = 'accept';
  const temporaryFailure = () => Object.assign(new Error('4.3.0 mail system temporarily unavailable'), { responseCode: 451 });

  const createServer = () => {
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
    return server;
  };

  let server: SMTPServer | undefined;
  let port = 0;
  const listen = async () => {
    const next = createServer();
    await new Promise<void>((resolve) => next.listen(port, '127.0.0.1', () => resolve()));
    port = ((next as unknown as { server: Server }).server.address() as AddressInfo).port;
    server = next;
  };
  await listen();
  // socketTimeout bounds a hung send on the client side; nodemailer takes it from the URL's query string.
  const url = `smtp://127.0.0.1:${port}?ignoreTLS=true&socketTimeout=${options.socketTimeoutMs ?? 5000}`;

  const smtp: ChaosSmtp = {
    url,
    port,
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
    forgetHeld() {
      waiting.clear();
    },
    async stop() {
      const current = server;
      server = undefined;
      if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
    },
    async start() {
      if (!server) await listen();
    },
    async close() {
      smtp.setMode('accept');
      await smtp.stop();
    },
  };
  return smtp;
}
