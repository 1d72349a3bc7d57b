/**
 * The part of supabase-js Realtime that watchMovie uses, typed structurally so a SupabaseClient
 * fits without this package importing supabase-js.
 */

export interface PostgresChangesFilter {
  event: "*";
  schema: string;
  table: string;
  /** `column=eq.value` */
  filter: string;
}

export interface RealtimeChannelLike {
  on(
    type: "postgres_changes",
    filter: PostgresChangesFilter,
    callback: (payload: unknown) => void,
  ): RealtimeChannelLike;
  /** status: SUBSCRIBED, CHANNEL_ERROR, TIMED_OUT or CLOSED. */
  subscribe(callback?: (status: string, error?: Error) => void): RealtimeChannelLike;
  unsubscribe(): Promise<unknown>;
}

export interface RealtimeSource {
  channel(name: string): RealtimeChannelLike;
  /** Also forgets the channel on the client; without it the channel is only unsubscribed. */
  removeChannel?(channel: RealtimeChannelLike): Promise<unknown>;
}
