import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { awsCallTotals, countRecord, resetAwsCallTotals, setAwsCallCounting, stanzaLabel, UNLABELLED } from '../../../lib/metrics/aws-calls.ts';
import { createDb, type Db } from '../../../lib/store/client.ts';
import { freshDb } from '../../support/db.ts';

describe('the AWS call counter', () => {
  let db: Db;

  beforeAll(async () => {
    const made = await freshDb();
    // Counting applies to clients created while it is on.
    setAwsCallCounting(true);
    db = createDb({ endpoint: made.endpoint, tableName: made.table });
  });

  it('charges a real DynamoDB Local call, and the capacity it reports, to the stanza type being handled', async () => {
    resetAwsCallTotals();
    const frame = `<message xmlns='jabber:client' type='chat' to='bob@localhost'><body>hi</body></message>`;
    await countRecord('MESSAGE', frame, async () => {
      await db.doc.send(new PutCommand({ TableName: db.table, Item: { pk: 'USER#counter@localhost', sk: 'ACCOUNT', n: 1 } }));
      await db.doc.send(new GetCommand({ TableName: db.table, Key: { pk: 'USER#counter@localhost', sk: 'ACCOUNT' }, ConsistentRead: true }));
    });
    const chat = awsCallTotals()['message:chat']!;
    expect(chat.records).toBe(1);
    expect(chat.calls).toEqual({ 'DynamoDB.PutItem': 1, 'DynamoDB.GetItem': 1 });
    // ReturnConsumedCapacity was added by the middleware: a small item is one unit each way.
    expect(chat.writeUnits).toBe(1);
    expect(chat.readUnits).toBe(1);
  });

  it('counts a refused conditional write as an error and a conditional failure', async () => {
    resetAwsCallTotals();
    const put = () =>
      db.doc.send(new PutCommand({ TableName: db.table, Item: { pk: 'USER#once@localhost', sk: 'ACCOUNT' }, ConditionExpression: 'attribute_not_exists(pk)' }));
    await put();
    await expect(put()).rejects.toThrow();
    const outside = awsCallTotals()[UNLABELLED]!;
    expect(outside.calls['DynamoDB.PutItem']).toBe(2);
    expect(outside.errors['DynamoDB.PutItem']).toBe(1);
    expect(outside.conditionalFailures).toBe(1);
  });

  it('labels frames by their first tag, type and IQ payload', () => {
    expect(stanzaLabel(`<presence type='unavailable'/>`)).toBe('presence:unavailable');
    expect(stanzaLabel(`<presence xml:lang='en'/>`)).toBe('presence');
    expect(stanzaLabel(`<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`)).toBe('iq:get:urn:xmpp:ping');
    expect(stanzaLabel(`<iq type='result' id='1'/>`)).toBe('iq:result');
    expect(stanzaLabel(`<message to='a@b'><body>x</body></message>`)).toBe('message:normal');
    expect(stanzaLabel(`not xml`)).toBe('(not XML)');
  });
});
