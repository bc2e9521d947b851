/**
 * Where retained messages live. The broker keeps one store on its main thread; workers send it
 * updates and queries over their threads' links. A durable store can replace the in-memory one
 * by implementing this interface.
 */

/** What a store needs to know of a retained message; the rest travels untouched. */
export interface Retainable {
  /** The topic name it was published to (never a filter). */
  readonly topic: string;
}

/** The outcome of {@link RetainedStore.set}. */
export type RetainOutcome = 'stored' | 'replaced' | 'deleted' | 'absent' | 'refused-full';

/** A bounded map from topic name to its last retained message. */
export interface RetainedStore<M extends Retainable> {
  /**
   * Stores `message` as the retained message of its topic, replacing the previous one
   * [MQTT-3.3.1-5]; `bytes` is what it counts against the byte bound. Returns `refused-full`
   * (and keeps the old one, if any) when storing it would break a bound.
   */
  set(message: M, bytes: number): RetainOutcome;
  /** Deletes the retained message of `topic` (a PUBLISH with an empty payload, [MQTT-3.3.1-10]). */
  delete(topic: string): RetainOutcome;
  /** Retained messages whose topic matches `filter` (a valid, non-shared filter). */
  match(filter: string): M[];
  /** Number of retained messages. */
  readonly size: number;
  /** Bytes counted against the byte bound. */
  readonly bytes: number;
}
