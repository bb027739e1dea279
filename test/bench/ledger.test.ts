import { describe, expect, it } from 'vitest';
import { DeliveryLedger } from '../../bench/ledger.ts';
import { median, Samples } from '../../bench/stats.ts';

describe('Samples', () => {
  it('gives nearest-rank percentiles over 1..100', () => {
    const samples = new Samples();
    // Added out of order: the percentiles sort first.
    for (let v = 100; v >= 1; v--) samples.add(v);
    expect(samples.percentile(50)).toBe(50);
    expect(samples.percentile(95)).toBe(95);
    expect(samples.percentile(99)).toBe(99);
    expect(samples.percentile(100)).toBe(100);
    expect(samples.summary()).toEqual({ count: 100, mean: 50.5, p50: 50, p95: 95, p99: 99, max: 100 });
  });

  it('rounds the rank up on small samples, so p99 of three values is the largest', () => {
    const samples = new Samples();
    for (const v of [3, 1, 2]) samples.add(v);
    expect(samples.percentile(50)).toBe(2);
    expect(samples.percentile(99)).toBe(3);
  });

  it('is NaN when empty, and keeps more values than its first buffer holds', () => {
    const samples = new Samples();
    expect(samples.percentile(50)).toBeNaN();
    for (let i = 0; i < 5000; i++) samples.add(i % 10);
    expect(samples.count).toBe(5000);
    expect(samples.percentile(100)).toBe(9);
  });

  it('median averages the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, 1, 3])).toBe(3);
  });
});

describe('DeliveryLedger', () => {
  it('counts every message delivered once as delivered, with its latency', () => {
    const ledger = new DeliveryLedger();
    ledger.addSender(0, 1);
    ledger.addSender(1, 0);
    const a = ledger.send(0, 1000);
    const b = ledger.send(1, 1001);
    ledger.receive(1, 0, a, 1000, 1010);
    ledger.receive(0, 1, b, 1001, 1031);
    expect(ledger.result()).toMatchObject({ sent: 2, expected: 2, delivered: 2, lost: 0, duplicated: 0, misrouted: 0, reordered: 0 });
    expect(ledger.result().latency).toMatchObject({ count: 2, p50: 10, max: 30 });
  });

  it('counts a message never received as lost, and a second receipt as duplicated', () => {
    const ledger = new DeliveryLedger();
    ledger.addSender(0, 1);
    for (let i = 0; i < 3; i++) ledger.send(0, i);
    ledger.receive(1, 0, 0, 0, 5);
    ledger.receive(1, 0, 0, 0, 6);
    ledger.receive(1, 0, 2, 2, 7);
    const result = ledger.result();
    expect(result).toMatchObject({ sent: 3, delivered: 2, lost: 1, duplicated: 1 });
    // The duplicate adds no latency sample.
    expect(result.latency.count).toBe(2);
  });

  it('counts a receipt at the wrong client as misrouted, and an unknown sequence number as unknown', () => {
    const ledger = new DeliveryLedger();
    ledger.addSender(0, 1);
    ledger.send(0, 0);
    ledger.receive(2, 0, 0, 0, 1);
    ledger.receive(1, 0, 7, 0, 1);
    ledger.receive(1, 9, 0, 0, 1);
    expect(ledger.result()).toMatchObject({ delivered: 0, lost: 1, misrouted: 1, unknown: 2 });
  });

  it('counts a message overtaking an earlier one of the same sender as reordered', () => {
    const ledger = new DeliveryLedger();
    ledger.addSender(0, 1);
    ledger.send(0, 0);
    ledger.send(0, 0);
    ledger.receive(1, 0, 1, 0, 1);
    ledger.receive(1, 0, 0, 0, 2);
    expect(ledger.result()).toMatchObject({ delivered: 2, lost: 0, reordered: 1 });
  });

  it('expects a broadcast once at each receiver', () => {
    const ledger = new DeliveryLedger();
    ledger.addSender(0, [1, 2, 3]);
    const seq = ledger.send(0, 0);
    ledger.receive(1, 0, seq, 0, 1);
    ledger.receive(3, 0, seq, 0, 1);
    ledger.receive(3, 0, seq, 0, 2);
    expect(ledger.result()).toMatchObject({ sent: 1, expected: 3, delivered: 2, lost: 1, duplicated: 1, misrouted: 0 });
  });

  it('keeps exact counts past its first bitmap (sequence numbers in the thousands)', () => {
    const ledger = new DeliveryLedger();
    ledger.addSender(0, [1, 2]);
    for (let i = 0; i < 5000; i++) ledger.send(0, i);
    for (let i = 0; i < 5000; i++) {
      ledger.receive(1, 0, i, i, i + 1);
      if (i !== 4321) ledger.receive(2, 0, i, i, i + 1);
    }
    ledger.receive(2, 0, 4999, 0, 0);
    expect(ledger.result()).toMatchObject({ expected: 10_000, delivered: 9999, lost: 1, duplicated: 1 });
  });
});
