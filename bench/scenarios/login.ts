import type { Progress } from '../progress.ts';
import { median, Samples, type LatencySummary } from '../stats.ts';
import type { BenchAccount } from '../target.ts';
import { XmppWsClient } from '../xmpp/client.ts';
import type { MechanismChoice } from '../xmpp/sasl.ts';

export interface LoginOptions {
  url: string;
  domain: string;
  accounts: BenchAccount[];
  mechanism: MechanismChoice;
  /** Logins in flight at once; 0 = all at once (a storm). */
  concurrency: number;
  timeoutMs: number;
  /** Resources are `<prefix><index>` (default `bench-`). */
  resourcePrefix?: string;
  progress?: Progress;
}

export interface LoginResult {
  clients: number;
  succeeded: number;
  failed: number;
  /** The first few failure reasons. */
  failures: string[];
  seconds: number;
  loginsPerSecond: number;
  /** Per login: WebSocket connect → SASL → bind → initial presence echoed, in ms. */
  latency: LatencySummary;
  /** Medians of each step, in ms. */
  steps: { connectMs: number; authMs: number; bindMs: number; presenceMs: number };
}

/**
 * (a) Login storm: every account logs in (SASL, bind, initial presence) at once, or `concurrency` at a time.
 * Returns the logged-in clients so the next scenario can use them.
 */
export async function loginStorm(options: LoginOptions): Promise<{ result: LoginResult; clients: XmppWsClient[] }> {
  const { accounts } = options;
  const latency = new Samples();
  const failures: string[] = [];
  const clients: XmppWsClient[] = [];
  let done = 0;
  const start = performance.now();
  let end = start;
  const stop = options.progress?.every(1000, () => {
    const elapsed = (performance.now() - start) / 1000;
    return `login storm: ${done}/${accounts.length} done, ${clients.length} in, ${failures.length} failed, ${(clients.length / elapsed).toFixed(0)}/s`;
  });
  const loginOne = async (account: BenchAccount, index: number) => {
    try {
      const client = await XmppWsClient.login({
        url: options.url,
        domain: options.domain,
        username: account.username,
        password: account.password,
        resource: `${options.resourcePrefix ?? 'bench-'}${index}`,
        mechanism: options.mechanism,
        timeoutMs: options.timeoutMs,
      });
      clients[index] = client;
      latency.add(client.timings.totalMs);
      end = performance.now();
    } catch (error) {
      failures.push(`${account.username}: ${(error as Error).message}`);
    } finally {
      done++;
    }
  };
  const limit = options.concurrency > 0 ? options.concurrency : accounts.length;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, accounts.length) }, async () => {
      while (next < accounts.length) {
        const index = next++;
        await loginOne(accounts[index]!, index);
      }
    }),
  );
  stop?.();
  const ok = clients.filter(Boolean);
  const seconds = (end - start) / 1000;
  const stepMedian = (key: keyof XmppWsClient['timings']) => median(ok.map((c) => c.timings[key]));
  return {
    clients: ok,
    result: {
      clients: accounts.length,
      succeeded: ok.length,
      failed: failures.length,
      failures: failures.slice(0, 5),
      seconds,
      loginsPerSecond: seconds > 0 ? ok.length / seconds : NaN,
      latency: latency.summary(),
      steps: { connectMs: stepMedian('connectMs'), authMs: stepMedian('authMs'), bindMs: stepMedian('bindMs'), presenceMs: stepMedian('presenceMs') },
    },
  };
}
