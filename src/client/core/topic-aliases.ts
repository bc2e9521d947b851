/**
 * MQTT 5 topic aliases of one connection, both ways. Mappings never outlive the connection
 * [MQTT-3.3.2-7], and each side is bounded by the Topic Alias Maximum the peer announced.
 */

/** Aliases we give our outgoing topics, within the server's Topic Alias Maximum [MQTT-3.3.2-9]. */
export class OutgoingAliases {
  private readonly byTopic = new Map<string, number>();
  /** The server's Topic Alias Maximum (0: none allowed [MQTT-3.2.2-18]). */
  maximum = 0;

  clear(): void {
    this.byTopic.clear();
  }

  /** The alias already bound to `topic`, if any. */
  get(topic: string): number | undefined {
    return this.byTopic.get(topic);
  }

  /** An alias for `topic`: the bound one, else a new one while any is left. */
  assign(topic: string): number | undefined {
    const bound = this.byTopic.get(topic);
    if (bound !== undefined) return bound;
    return this.byTopic.size < this.maximum ? this.byTopic.size + 1 : undefined;
  }

  /** Records that `topic` was sent with `alias` (a rebound alias forgets its old topic). */
  bind(topic: string, alias: number): void {
    for (const [t, a] of this.byTopic) if (a === alias) this.byTopic.delete(t);
    this.byTopic.set(topic, alias);
  }
}

/** Aliases the server gives its topics, within our Topic Alias Maximum [MQTT-3.3.2-10]. */
export class IncomingAliases {
  private readonly byAlias = new Map<number, string>();

  clear(): void {
    this.byAlias.clear();
  }

  /**
   * Resolves a PUBLISH's topic: a topic with an alias binds it, an empty topic looks it up.
   * Returns undefined for an alias outside 1..`maximum` or an unknown one (a protocol error,
   * MQTT 5.0 section 3.3.2.3.4).
   */
  resolve(topic: string, alias: number, maximum: number): string | undefined {
    if (alias === 0 || alias > maximum) return undefined;
    if (topic.length > 0) {
      this.byAlias.set(alias, topic);
      return topic;
    }
    return this.byAlias.get(alias);
  }
}
