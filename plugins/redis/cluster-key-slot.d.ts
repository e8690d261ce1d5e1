/** cluster-key-slot (installed with ioredis, which routes commands with it) ships no types. */
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot of a key (of its UTF-8 bytes), honouring a non-empty `{hash tag}`. */
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
