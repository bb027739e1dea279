import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { expect, test } from 'vitest';
import { freshDb } from './support/db.ts';

test('the table from the shared definition stores and reads items on DynamoDB Local', async () => {
  const db = await freshDb();
  await db.doc.send(new PutCommand({ TableName: db.table, Item: { pk: 'USER#a@b', sk: 'ACCOUNT', x: 1 } }));
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: { pk: 'USER#a@b', sk: 'ACCOUNT' } }));
  expect(Item).toEqual({ pk: 'USER#a@b', sk: 'ACCOUNT', x: 1 });
});
