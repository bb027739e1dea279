/**
 * The single DynamoDB table, described once: the CDK stack and the local runtime both build it
 * from this definition. Key design (see README "Data model"):
 *   CONN#<connectionId>  CONN             stream state of one WebSocket connection
 *   USER#<bare jid>      ACCOUNT          SCRAM credentials
 *   USER#<bare jid>      RES#<resource>   a bound session
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; DynamoDB deletes expired items days late, so readers filter on it too. */
  ttlAttribute: 'expires',
} as const;

export const DEFAULT_TABLE_NAME = 'cirrus';

/** The CreateTable input for an on-demand table; used by the local runtime and the tests. */
export function createTableInput(tableName: string) {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: TABLE.partitionKey, AttributeType: 'S' as const },
      { AttributeName: TABLE.sortKey, AttributeType: 'S' as const },
    ],
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' as const },
    ],
  };
}
