// HTTP as a player's client sees it during chaos: every call has a deadline, a refused connection or a timeout is
// an answer ("unknown"), never an exception, and signed webhook bodies are made the way the provider makes them.
import { createHmac } from 'node:crypto';

export interface Reply {
  /** 0 when no answer came (connection refused or reset, timeout). */
  status: number;
  body: any;
  headers: Headers | null;
  error?: string;
}

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Reply> {
  const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  try {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      },
      body: payload,
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: response.status, body, headers: response.headers };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { status: 0, body: undefined, headers: null, error: (error as Error).name === 'TimeoutError' ? 'timeout' : cause ?? (error as Error).message };
  }
}

/** The payments provider's webhook: body and its hex HMAC-SHA256 signature. */
export function signedPayment(secret: string, event: { eventId: string; userId: string; gems: number; amountCents: number; currency: string }) {
  const rawBody = JSON.stringify(event);
  return { rawBody, headers: { 'x-signature': createHmac('sha256', secret).update(rawBody).digest('hex') } };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
