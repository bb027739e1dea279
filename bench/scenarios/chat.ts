import { randomBytes } from 'node:crypto';
import { DeliveryLedger, type LedgerResult } from '../ledger.ts';
import type { Progress } from '../progress.ts';
import { drain, Samples } from '../stats.ts';
import { attribute, escapeXml, type XmppWsClient } from '../xmpp/client.ts';

export interface ChatOptions {
  /** Logged-in clients; client 2k talks with client 2k+1. */
  clients: XmppWsClient[];
  /** Target messages per second, all clients together; one step per rate. */
  rates: number[];
  durationS: number;
  /** After the last send, how long a silence (no message arriving) ends the wait; what has not come then is lost. */
  drainS: number;
  /** Address the partner's bare JID (the server picks the resource) or the full JID. */
  to: 'bare' | 'full';
  /** Extra body text per message, to make stanzas the size of real chat. */
  bodyBytes: number;
  progress?: Progress;
  /** Starts a CPU meter for a step; the function it returns reads it (process name → cores used). */
  meter?: () => () => Record<string, number>;
}

export interface ChatResult extends LedgerResult {
  targetRate: number;
  clients: number;
  /** Messages sent per second, as achieved (below the target when the generator itself cannot keep up). */
  sentPerSecond: number;
  /** How busy each process was during the step (sending and draining), in cores. */
  cpu: Record<string, number>;
}

const TAG = 'cirrus-bench';
const TICK_MS = 5;

/** The moment, in ms, comparable across processes on one machine. */
const now = () => performance.timeOrigin + performance.now();

/**
 * (b) Chat: clients in pairs send each other `type="chat"` messages, open loop, at a total target rate for
 * `durationS` seconds (each rate a step). Every message carries (run, sender, sequence number, send time) in
 * its body: the receiver checks it off in a ledger, so loss, duplication, misrouting and order are exact,
 * and latency is receipt time minus the send time written in the message.
 */
export async function chat(options: ChatOptions): Promise<ChatResult[]> {
  const clients = options.clients.slice(0, options.clients.length - (options.clients.length % 2));
  if (clients.length < 2) throw new Error('chat needs at least two logged-in clients');
  const partner = (i: number) => (i % 2 === 0 ? i + 1 : i - 1);
  const bareOf = (jid: string) => jid.split('/', 1)[0]!;
  const targets = clients.map((_, i) => escapeXml(options.to === 'full' ? clients[partner(i)]!.jid : bareOf(clients[partner(i)]!.jid)));
  const padding = options.bodyBytes > 0 ? ` ${'x'.repeat(options.bodyBytes)}` : '';
  const session = randomBytes(3).toString('hex');
  const ledgers = new Map<string, DeliveryLedger>();
  let window = new Samples();

  const indexOf = new Map(clients.map((client, i) => [client, i]));
  const onFrame = (frame: string, client: XmppWsClient) => {
    if (!frame.startsWith('<message')) return;
    const receivedAt = now();
    const body = /<body[^>]*>([^<]*)<\/body>/.exec(frame)?.[1];
    if (attribute(frame, 'type') === 'error') {
      // A bounce: the sender got its own message back as an error (its id names the run).
      const run = attribute(frame, 'id')?.split('.', 1)[0];
      const ledger = run === undefined ? undefined : ledgers.get(run);
      if (ledger) ledger.bounced++;
      return;
    }
    if (!body?.startsWith(TAG)) return;
    const [, run, sender, seq, sentAt] = body.split(' ');
    const ledger = ledgers.get(run!);
    if (!ledger) return;
    ledger.receive(indexOf.get(client)!, Number(sender), Number(seq), Number(sentAt), receivedAt);
    window.add(receivedAt - Number(sentAt));
  };
  for (const client of clients) client.onFrame = onFrame;

  const results: Array<{ ledger: DeliveryLedger; rate: number; cpu: Record<string, number> }> = [];
  for (const [index, rate] of options.rates.entries()) {
    const run = `${session}-${index}`;
    const ledger = new DeliveryLedger();
    ledgers.set(run, ledger);
    for (let i = 0; i < clients.length; i++) ledger.addSender(i, partner(i));
    const step = { ledger, rate, cpu: {} as Record<string, number> };
    results.push(step);
    const readCpu = options.meter?.();

    window = new Samples();
    const start = performance.now();
    const stop = options.progress?.every(1000, () => {
      const s = (performance.now() - start) / 1000;
      const line =
        `chat @${rate}/s: ${s.toFixed(0)}s sent ${ledger.totalSent} delivered ${ledger.received} ` +
        `in flight ${ledger.missing - ledger.bounced}${ledger.duplicated ? ` DUPLICATED ${ledger.duplicated}` : ''}` +
        `${ledger.bounced ? ` BOUNCED ${ledger.bounced}` : ''}, p99 last period ${window.percentile(99).toFixed(1)} ms`;
      window = new Samples();
      return line;
    });

    // Open loop: the schedule says how many messages should have left by now, whatever the server does.
    let cursor = 0;
    let sent = 0;
    const total = Math.round(rate * options.durationS);
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(total, Math.floor((rate * (performance.now() - start)) / 1000));
        for (; sent < due; sent++) {
          const sender = cursor;
          cursor = (cursor + 1) % clients.length;
          const seq = ledger.send(sender, now());
          const stamp = now().toFixed(3);
          clients[sender]!.send(
            `<message xmlns='jabber:client' type='chat' to='${targets[sender]}' id='${run}.${sender}.${seq}'>` +
              `<body>${TAG} ${run} ${sender} ${seq} ${stamp}${padding}</body></message>`,
          );
        }
        if (sent >= total) {
          clearInterval(timer);
          resolve();
        }
      };
      const timer = setInterval(tick, TICK_MS);
    });

    // Drain: until every message is delivered or bounced, or nothing has arrived for drainS seconds.
    await drain(() => ledger.missing - ledger.bounced, () => ledger.received + ledger.bounced + ledger.duplicated, options.drainS);
    // A little longer, so a duplicate that trails its original is seen.
    await sleep(300);
    step.cpu = readCpu?.() ?? {};
    stop?.();
  }
  // Receipts after a step's drain still count (as late): the ledgers are read only now.
  return results.map(({ ledger, rate, cpu }) => {
    const result = ledger.result();
    return {
      ...result,
      targetRate: rate,
      clients: clients.length,
      sentPerSecond: result.sendSeconds > 0 ? result.sent / result.sendSeconds : NaN,
      cpu,
    };
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
