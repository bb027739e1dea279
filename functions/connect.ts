import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { configFromEnv, type Config } from '../lib/config.ts';
import { createXmppServer, type Ports } from '../lib/server.ts';
import { observeConnect } from './observability.ts';

/** `$connect` carries the handshake's headers, which the V2 WebSocket event type leaves out. */
export type ConnectEvent = APIGatewayProxyWebsocketEventV2 & { headers?: Record<string, string | undefined> };

/** `$connect`: accept only the `xmpp` subprotocol (RFC 7395 §3.2) and create the connection's item. */
export function createConnectHandler(config: Config, ports: Partial<Ports> = {}) {
  const server = createXmppServer(config, ports);
  return async (event: ConnectEvent): Promise<APIGatewayProxyResultV2> => {
    const header = Object.entries(event.headers ?? {}).find(([name]) => name.toLowerCase() === 'sec-websocket-protocol');
    const protocols = (header?.[1] ?? '').split(',').map((p) => p.trim());
    if (!protocols.includes('xmpp')) return { statusCode: 400, body: 'the xmpp WebSocket subprotocol is required (RFC 7395)' };
    await server.connect(event.requestContext.connectionId);
    return { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'xmpp' } };
  };
}

let cached: ReturnType<typeof createConnectHandler> | undefined;
export const handler = observeConnect((event: ConnectEvent) => (cached ??= createConnectHandler(configFromEnv()))(event));
