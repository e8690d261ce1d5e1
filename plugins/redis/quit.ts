import type { Cluster, Redis } from 'ioredis';

/** QUIT, unless the server does not answer it soon: then the connection is just dropped. */
export async function quitOrDrop(client: Redis | Cluster): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 1000)));
  const outcome = await Promise.race([client.quit().catch(() => 'failed' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late' || outcome === 'failed') client.disconnect();
}
