import { Samples, type LatencySummary } from './stats.ts';

/**
 * Exactly-once accounting for stanzas that carry (sender, sequence number, send time): each sender numbers
 * what it sends 0, 1, 2…, and is declared with the receivers each of its stanzas must reach (one for a chat
 * partner, K for a presence broadcast to K contacts). Every receipt is checked off against that.
 * Lost = expected and never received; duplicated = received again by the same receiver; misrouted = received
 * by a client that is not among the sender's receivers; reordered = arriving at a receiver before an
 * earlier stanza of the same sender did.
 */
export class DeliveryLedger {
  private readonly sent: number[] = [];
  private readonly receivers: number[][] = [];
  /** Per sender: one bit per (sequence number, receiver slot), as seq * fanout + slot. */
  private readonly seen: Uint8Array[] = [];
  /** Per sender and receiver slot: the highest sequence number received. */
  private readonly highest: number[][] = [];
  readonly latency = new Samples();
  received = 0;
  duplicated = 0;
  misrouted = 0;
  reordered = 0;
  /** Receipts naming a sender or sequence number that was never sent (corruption). */
  unknown = 0;
  /** Error replies (bounces) the senders got back. */
  bounced = 0;
  firstSentAt = NaN;
  lastSentAt = NaN;
  lastReceivedAt = NaN;

  /** Declares a sender and who each of its stanzas is addressed to (one receiver, or several for a broadcast). */
  addSender(sender: number, receivers: number | number[]): void {
    const list = Array.isArray(receivers) ? receivers : [receivers];
    this.sent[sender] = 0;
    this.receivers[sender] = list;
    this.seen[sender] = new Uint8Array(Math.max(64, list.length * 16));
    this.highest[sender] = list.map(() => -1);
  }

  /** Records a send and returns its sequence number. */
  send(sender: number, now: number): number {
    const seq = this.sent[sender]!;
    this.sent[sender] = seq + 1;
    if (Number.isNaN(this.firstSentAt)) this.firstSentAt = now;
    this.lastSentAt = now;
    return seq;
  }

  receive(receiver: number, sender: number, seq: number, sentAt: number, now: number): void {
    const receivers = this.receivers[sender];
    if (receivers === undefined || !Number.isInteger(seq) || seq < 0 || seq >= this.sent[sender]!) {
      this.unknown++;
      return;
    }
    const slot = receivers.indexOf(receiver);
    if (slot < 0) {
      this.misrouted++;
      return;
    }
    const bit = seq * receivers.length + slot;
    let bits = this.seen[sender]!;
    if (bit >= bits.length) {
      const bigger = new Uint8Array(Math.max(bits.length * 2, bit + 1));
      bigger.set(bits);
      this.seen[sender] = bits = bigger;
    }
    if (bits[bit]) {
      this.duplicated++;
      return;
    }
    bits[bit] = 1;
    this.received++;
    const highest = this.highest[sender]!;
    if (seq < highest[slot]!) this.reordered++;
    else highest[slot] = seq;
    this.latency.add(now - sentAt);
    this.lastReceivedAt = now;
  }

  /** Stanzas sent (a broadcast counts once). */
  get totalSent(): number {
    let total = 0;
    for (const n of this.sent) total += n ?? 0;
    return total;
  }

  /** Receipts expected: each stanza once per receiver. */
  get expected(): number {
    let total = 0;
    for (const [sender, n] of this.sent.entries()) total += (n ?? 0) * (this.receivers[sender]?.length ?? 0);
    return total;
  }

  /** Expected but not (yet) received. */
  get missing(): number {
    return this.expected - this.received;
  }

  result(): LedgerResult {
    const activeMs = this.lastReceivedAt - this.firstSentAt;
    return {
      sent: this.totalSent,
      expected: this.expected,
      delivered: this.received,
      lost: this.missing,
      duplicated: this.duplicated,
      misrouted: this.misrouted,
      reordered: this.reordered,
      unknown: this.unknown,
      bounced: this.bounced,
      sendSeconds: (this.lastSentAt - this.firstSentAt) / 1000,
      deliveredPerSecond: activeMs > 0 ? (this.received / activeMs) * 1000 : NaN,
      latency: this.latency.summary(),
    };
  }
}

export interface LedgerResult {
  /** Stanzas sent. */
  sent: number;
  /** Receipts expected (sent × receivers each). */
  expected: number;
  /** Receipts checked off, each counted once. */
  delivered: number;
  /** Expected but not received by the end of the drain period. */
  lost: number;
  duplicated: number;
  misrouted: number;
  reordered: number;
  unknown: number;
  bounced: number;
  sendSeconds: number;
  /** Receipts over the time from the first send to the last receipt. */
  deliveredPerSecond: number;
  /** Milliseconds from send to receipt. */
  latency: LatencySummary;
}
