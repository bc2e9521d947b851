/**
 * socket-owner: one set of listeners for an owned socket's life, its events going to the last
 * owner set; a socket given up (disown) tells no owner anything, and an 'error' on it does not
 * throw. A plain EventEmitter stands in for the socket (the listeners only use `on`/`off`).
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { disown, handOver, own, type SocketOwner } from '../../../src/session/worker/socket-owner.js';

function recorder(name: string, log: string[]): SocketOwner {
  return {
    socketData: (chunk) => log.push(`${name} data ${chunk.toString()}`),
    socketClosed: (hadError) => log.push(`${name} closed ${hadError}`),
  };
}

describe('session worker: socket-owner', () => {
  it('events go to the owner, then to the one it is handed over to, through the same listeners', () => {
    const socket = new EventEmitter();
    const log: string[] = [];
    own(socket as unknown as Socket, recorder('pending', log));
    const counts = ['data', 'error', 'close'].map((event) => socket.listenerCount(event));
    socket.emit('data', Buffer.from('a'));
    handOver(socket as unknown as Socket, recorder('link', log));
    expect(['data', 'error', 'close'].map((event) => socket.listenerCount(event))).to.deep.equal(counts);
    socket.emit('data', Buffer.from('b'));
    socket.emit('error', new Error('reset'));
    socket.emit('close', true);
    expect(log).to.deep.equal(['pending data a', 'link data b', 'link closed true']);
  });

  it('a disowned socket tells nobody, and its errors do not throw', () => {
    const socket = new EventEmitter();
    const log: string[] = [];
    own(socket as unknown as Socket, recorder('pending', log));
    disown(socket as unknown as Socket);
    socket.emit('data', Buffer.from('a'));
    expect(() => socket.emit('error', new Error('reset'))).to.not.throw();
    socket.emit('close', false);
    expect(log).to.deep.equal([]);
  });
});
