/**
 * Opens the TCP or TLS connection for one attempt and says, in a typed error, what failed:
 * DNS, refused, TLS or another network error.
 */
import net from 'node:net';
import tls, { type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { ConnectError } from '../errors.js';
import type { Endpoint } from '../options.js';

/** Classifies an error raised while a connection was being opened. */
export function classifyConnectError(err: NodeJS.ErrnoException, secure: boolean, endpoint: Endpoint): ConnectError {
  const where = `${endpoint.host}:${endpoint.port}`;
  if (err.syscall === 'getaddrinfo' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    return new ConnectError(`DNS lookup of ${endpoint.host} failed: ${err.code ?? err.message}`, 'dns', undefined, err.code);
  }
  if (err.code === 'ECONNREFUSED') return new ConnectError(`connection to ${where} refused`, 'refused', undefined, err.code);
  const tlsLike = secure && (typeof err.code !== 'string' || /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|HOSTNAME|ERR_OSSL)/.test(err.code) || /ssl|tls|certificate/i.test(err.message));
  if (tlsLike) return new ConnectError(`TLS handshake with ${where} failed: ${err.message}`, 'tls', undefined, err.code);
  return new ConnectError(`connection to ${where} failed: ${err.message}`, 'network', undefined, err.code);
}

export interface TransportHandlers {
  onOpen(): void;
  onOpenFailed(error: ConnectError): void;
  onData(chunk: Buffer): void;
  onDrain(): void;
  onClose(error?: Error): void;
}

/** Starts one connection attempt; returns the socket, whose events feed `handlers`. */
export function openTransport(endpoint: Endpoint, tlsOptions: TlsConnectionOptions | undefined, handlers: TransportHandlers): net.Socket {
  let opened = false;
  let failure: Error | undefined;
  const socket: net.Socket = endpoint.secure
    ? tls.connect({ ...(tlsOptions ?? {}), host: endpoint.host, port: endpoint.port, servername: tlsOptions?.servername ?? (net.isIP(endpoint.host) ? undefined : endpoint.host) } as TlsConnectionOptions)
    : net.connect({ host: endpoint.host, port: endpoint.port });
  socket.setNoDelay(true);
  socket.once(endpoint.secure ? 'secureConnect' : 'connect', () => {
    opened = true;
    handlers.onOpen();
  });
  socket.on('data', (chunk: Buffer) => handlers.onData(chunk));
  socket.on('drain', () => handlers.onDrain());
  socket.on('error', (err: Error) => {
    failure ??= err;
  });
  socket.once('close', () => {
    if (!opened) handlers.onOpenFailed(classifyConnectError((failure ?? new Error('closed')) as NodeJS.ErrnoException, endpoint.secure, endpoint));
    else handlers.onClose(failure);
  });
  return socket;
}
