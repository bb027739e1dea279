import { describe, expect, it } from 'vitest';
import { eachLimited } from '../../lib/each-limited.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('eachLimited', () => {
  it('runs the task for every item, never more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await eachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      most = Math.max(most, ++running);
      await tick();
      done.push(n);
      running--;
    });
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('rejects with the first failure, after the started tasks settle, and starts no new ones', async () => {
    const started: number[] = [];
    let settled = 0;
    const run = eachLimited([1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      await tick();
      settled++;
      if (n === 1) throw new Error('one failed');
    });
    await expect(run).rejects.toThrow('one failed');
    expect(settled).toBe(started.length);
    expect(started).not.toContain(5);
  });

  it('does nothing for no items', async () => {
    let calls = 0;
    await eachLimited([], 4, async () => void calls++);
    expect(calls).toBe(0);
  });
});
