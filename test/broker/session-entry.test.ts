/**
 * Main's record of a session keeps its connections as the one connection itself, or an array
 * for a takeover's moment: lookups, forgetting and the open list must read the same either way.
 */
import { expect } from 'chai';
import { ConnectionState, type ClientConnection } from '../../src/broker/client-connection.js';
import { SessionEntry } from '../../src/broker/session-entry.js';
import type { ThreadLink } from '../../src/broker/thread-links.js';

/** A thread link that records what main sends it. */
function fakeThread(): ThreadLink & { sent: unknown[] } {
  const sent: unknown[] = [];
  return { sent, threadId: 7, send: (message: unknown) => sent.push(message) } as unknown as ThreadLink & { sent: unknown[] };
}

/** Just what `SessionEntry.attach` reads of a connection that is relayed (no hand-off given). */
function fakeConnection(id: number): ClientConnection {
  const connection = {
    id,
    remote: `127.0.0.1:${1000 + id}`,
    state: ConnectionState.AwaitingConnect,
    attachTo() {
      connection.state = ConnectionState.Relaying;
      return { t: 'attach', connection: id, bytes: [], remote: connection.remote };
    },
  };
  return connection as unknown as ClientConnection;
}

describe('SessionEntry connections', () => {
  it('finds, lists and forgets its one connection', () => {
    const entry = new SessionEntry(1 << 20, 'a', fakeThread());
    const first = fakeConnection(1);
    entry.attach(first, undefined, undefined);
    expect(entry.connection(1)).to.equal(first);
    expect(entry.connection(2)).to.equal(undefined);
    expect(entry.openConnections()).to.deep.equal([first]);
    entry.forget(1);
    expect(entry.connection(1)).to.equal(undefined);
    expect(entry.openConnections()).to.deep.equal([]);
  });

  it('keeps a takeover’s connections oldest first, and goes back to one when the old one is forgotten', () => {
    const entry = new SessionEntry(1 << 20, 'a', fakeThread());
    const [first, second, third] = [fakeConnection(1), fakeConnection(2), fakeConnection(3)];
    entry.attach(first, undefined, undefined);
    entry.attach(second, undefined, undefined);
    entry.attach(third, undefined, undefined);
    expect(entry.openConnections()).to.deep.equal([first, second, third]);
    expect(entry.connection(2)).to.equal(second);
    expect(entry.lastAttached).to.equal(3);
    entry.forget(2);
    expect(entry.openConnections()).to.deep.equal([first, third]);
    entry.forget(1);
    expect(entry.openConnections()).to.deep.equal([third]);
    expect(entry.connection(3)).to.equal(third);
    entry.forget(3);
    expect(entry.openConnections()).to.deep.equal([]);
  });

  it('leaves closed connections out of the open list', () => {
    const entry = new SessionEntry(1 << 20, 'a', fakeThread());
    const [first, second] = [fakeConnection(1), fakeConnection(2)];
    entry.attach(first, undefined, undefined);
    (first as { state: ConnectionState }).state = ConnectionState.Closed;
    expect(entry.openConnections()).to.deep.equal([]);
    entry.attach(second, undefined, undefined);
    expect(entry.openConnections()).to.deep.equal([second]);
    expect(entry.connection(1)).to.equal(first);
  });
});
