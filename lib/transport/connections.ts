import type * as Sdk from '@aws-sdk/client-apigatewaymanagementapi';
import { awsCallCountingEnabled, countAwsCalls } from '../metrics/aws-calls.ts';

/** Where frames leave the server: one WebSocket connection, by id. */
export interface Connections {
  /** Sends one frame; false when the connection is gone (HTTP 410), so the caller can clean up and re-route. */
  post(connectionId: string, frame: string): Promise<boolean>;
  /** Closes the connection; API Gateway then raises `$disconnect` for it. */
  close(connectionId: string): Promise<void>;
}

/** The API Gateway `@connections` management API (in AWS, or the local emulator: same calls, other endpoint). */
export function apiGatewayConnections(endpoint: string, region?: string): Connections {
  const local = !endpoint.includes('.amazonaws.com');
  // Loaded at the first post, not at start: `$connect` never posts, so its cold start skips this SDK client.
  let api: Promise<{ sdk: typeof Sdk; client: Sdk.ApiGatewayManagementApiClient }> | undefined;
  const load = () =>
    (api ??= import('@aws-sdk/client-apigatewaymanagementapi').then((sdk) => {
      const client = new sdk.ApiGatewayManagementApiClient({
        endpoint,
        region: region ?? process.env.AWS_REGION ?? (local ? 'local' : undefined),
        credentials: local ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
      });
      // The benchmark's call counter (off unless CIRRUS_COUNT_AWS_CALLS=1).
      if (awsCallCountingEnabled()) countAwsCalls(client, 'ApiGatewayManagementApi');
      return { sdk, client };
    }));
  return {
    async post(connectionId, frame) {
      const { sdk, client } = await load();
      try {
        await client.send(new sdk.PostToConnectionCommand({ ConnectionId: connectionId, Data: frame }));
        return true;
      } catch (error) {
        if (error instanceof sdk.GoneException) return false;
        throw error;
      }
    },
    async close(connectionId) {
      const { sdk, client } = await load();
      try {
        await client.send(new sdk.DeleteConnectionCommand({ ConnectionId: connectionId }));
      } catch (error) {
        if (!(error instanceof sdk.GoneException)) throw error;
      }
    },
  };
}
