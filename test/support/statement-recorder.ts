// Records the statements the service sends on its pg clients during an action, each with the round trip it travels
// in. Every statement goes through pg.Client#query (pool.query checks a client out and calls it); one sent while
// another of the same connection is still in flight (pipeline mode) shares that round trip, and without pipeline
// mode pg queues it until the first is answered: a round trip of its own.
import pg from 'pg';

export interface SentStatement {
  /** The statement's text, whitespace collapsed. */
  text: string;
  roundTrip: number;
}

export interface Recorded {
  sent: SentStatement[];
  roundTrips: number;
}

export interface StatementRecorder {
  /** Runs `action` and returns its result with what the service sent meanwhile (one recording at a time). */
  record<T>(action: () => Promise<T>): Promise<Recorded & { result: T }>;
  /** Puts pg's own query back (afterAll). */
  restore(): void;
}

export function recordStatements(): StatementRecorder {
  const originalQuery = pg.Client.prototype.query;
  const inFlight = new WeakMap<object, number>();
  let recording: Recorded | undefined;

  pg.Client.prototype.query = function recordedQuery(this: pg.Client & { pipeline?: boolean }, ...args: unknown[]) {
    if (!recording) return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    const config = args[0];
    const text = typeof config === 'string' ? config : String((config as { text?: string }).text ?? '');
    const pending = inFlight.get(this) ?? 0;
    if (pending === 0 || !this.pipeline) recording.roundTrips++;
    recording.sent.push({ text: text.replace(/\s+/g, ' ').trim(), roundTrip: recording.roundTrips });
    inFlight.set(this, pending + 1);
    const settle = () => inFlight.set(this, (inFlight.get(this) ?? 1) - 1);
    // pool.query passes a callback; everything else gets a promise.
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (...results: unknown[]) => {
        settle();
        return (last as (...r: unknown[]) => unknown)(...results);
      };
    }
    const result = (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    if (result instanceof Promise) result.then(settle, settle);
    return result;
  } as typeof pg.Client.prototype.query;

  return {
    async record(action) {
      const current: Recorded = { sent: [], roundTrips: 0 };
      recording = current;
      try {
        return { ...current, result: await action() };
      } finally {
        recording = undefined;
      }
    },
    restore() {
      pg.Client.prototype.query = originalQuery;
    },
  };
}
