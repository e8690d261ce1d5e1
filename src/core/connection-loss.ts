/**
 * What the plugins' own clients say when the connection goes mid-run (the server was
 * stopped, restarted, or the network dropped): ioredis once its retries are spent or its
 * connection is closed, grpc/etcd3 as UNAVAILABLE, Node's socket errors underneath.
 */
const CONNECTION_LOST =
  /max retries per request|connection is closed|stream isn't writeable|\bUNAVAILABLE\b|\bE(?:CONNRESET|CONNREFUSED|PIPE|HOSTUNREACH|NETUNREACH)\b|socket hang up/i;

/** The client's words for a lost connection, as one short clause for the operator. */
export function connectionLossDetail(message: string): string | undefined {
  if (!CONNECTION_LOST.test(message)) return undefined;
  // ioredis gave up on a command after reconnecting failed: say so, not which option to raise.
  if (/max retries per request/i.test(message)) return 'the connection dropped and did not come back';
  if (/connection is closed|stream isn't writeable/i.test(message)) return 'the connection was closed';
  const text = message.split('\n')[0];
  // grpc: "14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379. Resolution note: "
  const lastError = /Last error: (?:\w*Error: )?(.+?)\.?\s*(?:Resolution note:.*)?$/.exec(text)?.[1];
  if (lastError && lastError !== 'null') return lastError;
  return text
    .replace(/^\d+ UNAVAILABLE: /, '')
    .replace(/\s*Resolution note:.*$/, '')
    .replace(/\.$/, '')
    .trim();
}
