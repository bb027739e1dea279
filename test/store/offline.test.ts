import { describe, expect, test } from 'vitest';
import { OfflineFullError, OfflineStore } from '../../lib/store/offline.ts';
import { freshDb } from '../support/db.ts';

describe('OfflineStore on DynamoDB Local', () => {
  test('lists oldest first and leaves out what has expired, though TTL has not deleted it yet', async () => {
    const store = new OfflineStore(await freshDb(), 10, 60);
    const now = Date.now();
    await store.store('u@localhost', '<message id="old"/>', now - 120_000); // retention 60 s: expired
    await store.store('u@localhost', '<message id="a"/>', now - 1000);
    await store.store('u@localhost', '<message id="b"/>', now);
    expect((await store.list('u@localhost', now)).map((m) => m.stanza)).toEqual(['<message id="a"/>', '<message id="b"/>']);
  });

  test('refuses past the cap, and frees the room when messages are removed', async () => {
    const store = new OfflineStore(await freshDb(), 2, 3600);
    await store.store('u@localhost', '<message id="1"/>');
    await store.store('u@localhost', '<message id="2"/>');
    await expect(store.store('u@localhost', '<message id="3"/>')).rejects.toBeInstanceOf(OfflineFullError);
    const waiting = await store.list('u@localhost');
    await store.remove('u@localhost', waiting.map((m) => m.sk));
    expect(await store.list('u@localhost')).toEqual([]);
    await store.store('u@localhost', '<message id="4"/>');
    await store.store('u@localhost', '<message id="5"/>');
    await expect(store.store('u@localhost', '<message id="6"/>')).rejects.toBeInstanceOf(OfflineFullError);
  });

  test("users' stores are separate", async () => {
    const store = new OfflineStore(await freshDb(), 1, 3600);
    await store.store('a@localhost', '<message id="a"/>');
    await store.store('b@localhost', '<message id="b"/>');
    expect((await store.list('b@localhost')).map((m) => m.stanza)).toEqual(['<message id="b"/>']);
  });
});
