import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsCallCountingEnabled, countAwsCalls } from '../metrics/aws-calls.ts';

export interface StoreOptions {
  tableName: string;
  /** A DynamoDB endpoint other than AWS's (DynamoDB Local, LocalStack). */
  endpoint?: string;
  region?: string;
}

export interface Db {
  doc: DynamoDBDocumentClient;
  table: string;
}

export function createDb(options: StoreOptions): Db {
  const local = options.endpoint !== undefined;
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'local' : undefined),
    // DynamoDB Local accepts any credentials; never require real ones against it.
    credentials: local ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
  });
  // The benchmark's call counter (off unless CIRRUS_COUNT_AWS_CALLS=1); the document client shares this stack.
  if (awsCallCountingEnabled()) countAwsCalls(client, 'DynamoDB');
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { doc, table: options.tableName };
}
