import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, test } from 'vitest';
import { deriveCredentials, verifyPassword } from '../../lib/sasl/credentials.ts';
import { Accounts } from '../../lib/store/accounts.ts';
import type { Db } from '../../lib/store/client.ts';
import { AccountExistsError, AccountNotFoundError, StoreError } from '../../lib/store/errors.ts';
import { freshDb } from '../support/db.ts';

// A low iteration count keeps PBKDF2 fast; the store treats credentials as opaque.
const credentials = (password: string) => deriveCredentials(password, 64);

let db: Db;
let accounts: Accounts;

beforeAll(async () => {
  db = await freshDb();
  accounts = new Accounts(db);
});

describe('create and get', () => {
  test('round-trips the account and stores SCRAM keys, never the password', async () => {
    const creds = credentials('s3cret-pass');
    await accounts.create('alice@localhost', creds);

    const account = await accounts.get('alice@localhost');
    expect(account).toEqual({ jid: 'alice@localhost', credentials: creds, createdAt: expect.any(String) });
    expect(Date.parse(account!.createdAt)).not.toBeNaN();

    const { Item } = await db.doc.send(
      new GetCommand({ TableName: db.table, Key: { pk: 'USER#alice@localhost', sk: 'ACCOUNT' } }),
    );
    expect(Object.keys(Item!).sort()).toEqual(['createdAt', 'credentials', 'jid', 'pk', 'sk']);
    expect(JSON.stringify(Item)).not.toContain('s3cret-pass');
  });

  test('get of an unknown account is undefined', async () => {
    expect(await accounts.get('nobody@localhost')).toBeUndefined();
  });

  test('a second create of the same JID fails with AccountExistsError and keeps the first credentials', async () => {
    const first = credentials('first');
    await accounts.create('dup@localhost', first);
    const attempt = accounts.create('dup@localhost', credentials('second'));
    await expect(attempt).rejects.toBeInstanceOf(AccountExistsError);
    await expect(attempt).rejects.toMatchObject({ jid: 'dup@localhost', message: 'dup@localhost already exists' });
    await expect(attempt).rejects.toBeInstanceOf(StoreError);
    expect((await accounts.get('dup@localhost'))!.credentials).toEqual(first);
  });
});

describe('setCredentials', () => {
  test('replaces the keys so the new password verifies and the old one does not', async () => {
    await accounts.create('bob@localhost', credentials('old-password'));
    await accounts.setCredentials('bob@localhost', credentials('new-password'));

    const { credentials: stored } = (await accounts.get('bob@localhost'))!;
    for (const mechanism of ['SCRAM-SHA-1', 'SCRAM-SHA-256'] as const) {
      expect(verifyPassword('new-password', stored[mechanism], mechanism)).toBe(true);
      expect(verifyPassword('old-password', stored[mechanism], mechanism)).toBe(false);
    }
  });

  test('of an unknown account fails with AccountNotFoundError and creates nothing', async () => {
    await expect(accounts.setCredentials('ghost@localhost', credentials('x'))).rejects.toMatchObject({
      constructor: AccountNotFoundError,
      jid: 'ghost@localhost',
    });
    expect(await accounts.get('ghost@localhost')).toBeUndefined();
  });
});

describe('delete', () => {
  test('removes the account and every other item of the user, and nobody else’s', async () => {
    await accounts.create('carol@localhost', credentials('pw'));
    await accounts.create('dave@localhost', credentials('pw'));
    // More than one BatchWrite's worth (25) of roster, offline and session items.
    const others = [
      ...Array.from({ length: 30 }, (_, i) => `ROSTER#friend${i}@localhost`),
      'OFFLINE#2024-01-01T00:00:00.000Z#1',
      'RES#phone',
    ];
    for (const sk of others) {
      await db.doc.send(new PutCommand({ TableName: db.table, Item: { pk: 'USER#carol@localhost', sk } }));
    }
    await db.doc.send(new PutCommand({ TableName: db.table, Item: { pk: 'USER#dave@localhost', sk: 'RES#laptop' } }));

    await accounts.delete('carol@localhost');

    expect(await accounts.get('carol@localhost')).toBeUndefined();
    expect(await itemsUnder('USER#carol@localhost')).toEqual([]);
    expect(await itemsUnder('USER#dave@localhost')).toEqual(['ACCOUNT', 'RES#laptop']);
  });

  test('of an unknown account fails with AccountNotFoundError', async () => {
    await expect(accounts.delete('ghost@localhost')).rejects.toMatchObject({
      constructor: AccountNotFoundError,
      jid: 'ghost@localhost',
    });
  });

  test('of an unknown account still sweeps items left behind by an interrupted delete', async () => {
    await db.doc.send(new PutCommand({ TableName: db.table, Item: { pk: 'USER#erin@localhost', sk: 'ROSTER#x@y' } }));
    await expect(accounts.delete('erin@localhost')).rejects.toBeInstanceOf(AccountNotFoundError);
    expect(await itemsUnder('USER#erin@localhost')).toEqual([]);
  });
});

describe('list', () => {
  test('returns the sorted accounts, all or those of one domain', async () => {
    const listDb = await freshDb();
    const store = new Accounts(listDb);
    for (const jid of ['zoe@localhost', 'amy@example.com', 'bea@localhost', 'cy@sub.localhost']) {
      await store.create(jid, credentials('pw'));
    }
    // Not an account: must not be listed.
    await listDb.doc.send(new PutCommand({ TableName: listDb.table, Item: { pk: 'USER#bea@localhost', sk: 'RES#r', jid: 'bea@localhost/r' } }));

    expect(await store.list()).toEqual(['amy@example.com', 'bea@localhost', 'cy@sub.localhost', 'zoe@localhost']);
    expect(await store.list('localhost')).toEqual(['bea@localhost', 'zoe@localhost']);
    expect(await store.list('example.com')).toEqual(['amy@example.com']);
    expect(await store.list('example.org')).toEqual([]);
  });
});

async function itemsUnder(pk: string): Promise<string[]> {
  const { Items = [] } = await db.doc.send(
    new QueryCommand({ TableName: db.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk } }),
  );
  return Items.map((item) => item.sk as string).sort();
}
