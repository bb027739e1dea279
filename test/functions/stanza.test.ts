import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, test } from 'vitest';
import { createStanzaHandler } from '../../functions/stanza.ts';
import { configFromEnv } from '../../lib/config.ts';
import { freshDb } from '../support/db.ts';

const OPEN = '<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="1.0"/>';

function record(messageId: string, connectionId: string, body: string, eventType = 'MESSAGE'): SQSRecord {
  return {
    messageId,
    body,
    receiptHandle: messageId,
    attributes: { MessageGroupId: connectionId } as SQSRecord['attributes'],
    messageAttributes: {
      connectionId: { stringValue: connectionId, dataType: 'String' },
      eventType: { stringValue: eventType, dataType: 'String' },
    },
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:cirrus.fifo',
    awsRegion: 'local',
  };
}

describe('the stanza Lambda on SQS FIFO', () => {
  test('a failed record fails every later record of its connection, and only those (order survives the retry)', async () => {
    const db = await freshDb();
    // Nothing listens on port 9: every PostToConnection fails, so only frames that send something fail.
    const handler = createStanzaHandler(
      configFromEnv({ XMPP_DOMAINS: 'localhost', TABLE_NAME: db.table, DYNAMODB_ENDPOINT: db.endpoint, WS_ENDPOINT: 'http://127.0.0.1:9' }),
    );
    const event: SQSEvent = {
      Records: [
        record('a1', 'conn-a', ' '), // whitespace: nothing to send, succeeds
        record('a2', 'conn-a', OPEN), // answers <open/>: the post fails
        record('a3', 'conn-a', ' '), // would succeed alone, but comes after a2
        record('b1', 'conn-b', ' '),
      ],
    };
    const { batchItemFailures } = await handler(event);
    expect(batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a2', 'a3']);
  });
});
