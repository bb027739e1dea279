import { randomBytes } from 'node:crypto';
import { DeliveryLedger, type LedgerResult } from '../ledger.ts';
import type { Progress } from '../progress.ts';
import { drain } from '../stats.ts';
import { attribute, escapeXml, type XmppWsClient } from '../xmpp/client.ts';

export interface PresenceOptions {
  /** Logged-in clients: the first half go offline and online ("togglers"), the second half watch ("observers"). */
  clients: XmppWsClient[];
  /** Contacts per client (each toggler has K observers in its roster, each observer K togglers). */
  contacts: number;
  /** Presence changes per second, all togglers together. */
  rate: number;
  durationS: number;
  drainS: number;
  progress?: Progress;
}

export interface PresenceResult extends LedgerResult {
  clients: number;
  contacts: number;
  targetRate: number;
  /** Presence changes sent per second, as achieved. */
  sentPerSecond: number;
  /** Subscriptions set up through the protocol before the run (0 when the rosters were already in place). */
  subscriptionsMade: number;
  setupSeconds: number;
  /** Contacts' presence a toggler got back on coming online (RFC 6121 §4.2.2 probes), against K per return. */
  probeAnswers: { expected: number; received: number };
  /** Changes echoed back to the toggler that sent them (servers differ; not counted as deliveries). */
  echoes: number;
}

const TAG = 'cirrus-bench-presence';
const ROSTER = 'jabber:iq:roster';
const now = () => performance.timeOrigin + performance.now();
const bareOf = (jid: string) => jid.split('/', 1)[0]!.toLowerCase();

/**
 * (c) Presence: clients with rosters of K contacts going offline and online. The rosters are made through
 * the protocol first (RFC 6121 §3: subscribe / subscribed both ways, so every pair is `both`), which works
 * on any server. Then togglers alternate `<presence type='unavailable'/>` and `<presence/>` at the target
 * rate, each carrying (run, sender, sequence number, send time) in its `<status/>`: each must reach its K
 * observers exactly once (RFC 6121 §4.4.2, §4.5.2), which the ledger checks. The graph is bipartite so that
 * the receivers of every broadcast are online throughout and the expected count is exact.
 */
export async function presence(options: PresenceOptions): Promise<PresenceResult> {
  const half = Math.floor(options.clients.length / 2);
  const k = options.contacts;
  if (half < 1 || k < 1 || k > half) throw new Error(`presence needs K ≥ 1 and at least 2K clients (K=${k}, ${options.clients.length} clients)`);
  const clients = options.clients.slice(0, 2 * half);
  const togglers = clients.slice(0, half);
  // Toggler i has observers half + (i + d) mod half, d = 0…K-1; so each observer has K togglers too.
  const observersOf = togglers.map((_, i) => Array.from({ length: k }, (_, d) => half + ((i + d) % half)));
  const contactsOf: Array<Set<string>> = clients.map(() => new Set());
  for (const [t, observers] of observersOf.entries()) {
    for (const o of observers) {
      contactsOf[t]!.add(bareOf(clients[o]!.jid));
      contactsOf[o]!.add(bareOf(clients[t]!.jid));
    }
  }

  const setupStart = performance.now();
  const subscriptionsMade = await makeRosters(clients, contactsOf, observersOf, options.progress);
  const setupSeconds = (performance.now() - setupStart) / 1000;

  const run = randomBytes(3).toString('hex');
  const ledger = new DeliveryLedger();
  for (const [t, observers] of observersOf.entries()) ledger.addSender(t, observers);
  const indexOf = new Map(clients.map((client, i) => [client, i]));
  const online = togglers.map(() => true);
  const probeAnswers = { expected: 0, received: 0 };
  let echoes = 0;
  const onFrame = (frame: string, client: XmppWsClient) => {
    if (!frame.startsWith('<presence')) return answerPushes(frame, client);
    const receivedAt = now();
    const index = indexOf.get(client)!;
    const status = /<status>([^<]*)<\/status>/.exec(frame)?.[1];
    if (status?.startsWith(TAG)) {
      const [, tagRun, sender, seq, sentAt] = status.split(' ');
      // A server may echo the change to the resource that sent it (RFC 6121 §4.2.2; Prosody does, for both kinds): not a delivery.
      if (tagRun === run && Number(sender) === index) echoes++;
      else if (tagRun === run) ledger.receive(index, Number(sender), Number(seq), Number(sentAt), receivedAt);
    } else if (index < half && attribute(frame, 'type') === undefined && contactsOf[index]!.has(bareOf(attribute(frame, 'from') ?? ''))) {
      probeAnswers.received++;
    }
  };
  for (const client of clients) client.onFrame = onFrame;

  const start = performance.now();
  const stop = options.progress?.every(1000, () => {
    const s = (performance.now() - start) / 1000;
    return (
      `presence @${options.rate}/s, K=${k}: ${s.toFixed(0)}s changes ${ledger.totalSent} receipts ${ledger.received}/${ledger.expected}` +
      `${ledger.duplicated ? ` DUPLICATED ${ledger.duplicated}` : ''}${ledger.misrouted ? ` MISROUTED ${ledger.misrouted}` : ''}`
    );
  });
  const toggle = (t: number) => {
    const seq = ledger.send(t, now());
    const status = `<status>${TAG} ${run} ${t} ${seq} ${now().toFixed(3)}</status>`;
    if (online[t]) togglers[t]!.send(`<presence xmlns='jabber:client' type='unavailable'>${status}</presence>`);
    else {
      togglers[t]!.send(`<presence xmlns='jabber:client'>${status}</presence>`);
      probeAnswers.expected += k;
    }
    online[t] = !online[t];
  };
  const total = Math.round(options.rate * options.durationS);
  let sent = 0;
  let cursor = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor((options.rate * (performance.now() - start)) / 1000));
      for (; sent < due; sent++) {
        toggle(cursor);
        cursor = (cursor + 1) % togglers.length;
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  // Everyone ends online, so that the next run (or scenario) starts from the same state.
  for (const [t, isOnline] of online.entries()) if (!isOnline) toggle(t);
  await drain(() => ledger.missing, () => ledger.received + ledger.duplicated + ledger.misrouted, options.drainS);
  await sleep(300);
  stop?.();
  const result = ledger.result();
  return {
    ...result,
    clients: clients.length,
    contacts: k,
    targetRate: options.rate,
    sentPerSecond: result.sendSeconds > 0 ? result.sent / result.sendSeconds : NaN,
    subscriptionsMade,
    setupSeconds,
    probeAnswers,
    echoes,
  };
}

/** RFC 6121 §2.1.6: a client acknowledges a roster push. */
function answerPushes(frame: string, client: XmppWsClient): boolean {
  if (!frame.startsWith('<iq') || attribute(frame, 'type') !== 'set' || !frame.includes(ROSTER)) return false;
  const id = attribute(frame, 'id');
  if (id !== undefined) client.send(`<iq xmlns='jabber:client' type='result' id='${escapeXml(id)}'/>`);
  return true;
}

/**
 * Makes every (toggler, observer) pair a mutual subscription through the protocol, skipping pairs already
 * `both` (a second run on the same server). Togglers ask; everyone approves what it is asked by an expected
 * contact and asks back. Done when every client's roster shows its K contacts as `both`.
 */
async function makeRosters(clients: XmppWsClient[], contactsOf: Array<Set<string>>, observersOf: number[][], progress?: Progress): Promise<number> {
  const rosterBoth = async (client: XmppWsClient) => {
    const result = await client.request((id) => `<iq xmlns='jabber:client' type='get' id='${id}'><query xmlns='${ROSTER}'/></iq>`, 'the roster');
    const both = new Set<string>();
    for (const [item] of result.matchAll(/<item\b[^>]*>/g)) {
      if (attribute(item, 'subscription') === 'both') both.add(bareOf(attribute(item, 'jid') ?? ''));
    }
    return both;
  };
  const done = await Promise.all(clients.map(rosterBoth));
  const complete = () => clients.every((_, i) => [...contactsOf[i]!].every((c) => done[i]!.has(c)));
  if (complete()) return 0;

  const asked = clients.map(() => new Set<string>());
  const indexOf = new Map(clients.map((client, i) => [client, i]));
  let made = 0;
  for (const client of clients) {
    client.onFrame = (frame, self) => {
      const i = indexOf.get(self)!;
      if (answerPushes(frame, self)) {
        for (const [item] of frame.matchAll(/<item\b[^>]*>/g)) {
          if (attribute(item, 'subscription') === 'both') done[i]!.add(bareOf(attribute(item, 'jid') ?? ''));
        }
        return;
      }
      if (!frame.startsWith('<presence') || attribute(frame, 'type') !== 'subscribe') return;
      const from = bareOf(attribute(frame, 'from') ?? '');
      if (!contactsOf[i]!.has(from)) return;
      self.send(`<presence xmlns='jabber:client' type='subscribed' to='${escapeXml(from)}'/>`);
      if (!asked[i]!.has(from) && !done[i]!.has(from)) {
        asked[i]!.add(from);
        self.send(`<presence xmlns='jabber:client' type='subscribe' to='${escapeXml(from)}'/>`);
      }
    };
  }
  for (const [t, observers] of observersOf.entries()) {
    for (const o of observers) {
      const contact = bareOf(clients[o]!.jid);
      if (done[t]!.has(contact) && done[o]!.has(bareOf(clients[t]!.jid))) continue;
      asked[t]!.add(contact);
      clients[t]!.send(`<presence xmlns='jabber:client' type='subscribe' to='${escapeXml(contact)}'/>`);
      made++;
    }
  }
  progress?.note(`presence: subscribing ${made} pairs through the protocol`);
  const deadline = performance.now() + 60_000;
  while (!complete() && performance.now() < deadline) await sleep(50);
  // Roster pushes say what changed; the rosters themselves have the last word.
  const final = await Promise.all(clients.map(rosterBoth));
  const missing = clients.flatMap((client, i) => [...contactsOf[i]!].filter((c) => !final[i]!.has(c)).map((c) => `${bareOf(client.jid)}→${c}`));
  if (missing.length) throw new Error(`presence setup: ${missing.length} subscriptions are not "both" after 60 s (e.g. ${missing.slice(0, 3).join(', ')})`);
  return made;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
