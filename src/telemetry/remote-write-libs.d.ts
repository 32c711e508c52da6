// Typings for the two CommonJS libraries behind remote-write-codec.ts (neither ships usable ones for this use).
declare module 'snappyjs' {
  const snappy: { compress(b: Uint8Array): Uint8Array; uncompress(b: Uint8Array): Uint8Array };
  export default snappy;
}

/** The compiled prom.proto of prometheus-remote-write (protobufjs static module): prometheus.WriteRequest. */
declare module 'prometheus-remote-write/prom.js' {
  interface WriteRequestType {
    verify(payload: unknown): string | null;
    encode(payload: unknown): { finish(): Uint8Array };
    decode(bytes: Uint8Array): {
      timeseries: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: number | { toNumber(): number } }[] }[];
    };
  }
  const prom: { prometheus: { WriteRequest: WriteRequestType } };
  export default prom;
}
