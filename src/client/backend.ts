/**
 * What the API needs from a driver: a way to send commands to the connection loop. Events
 * come back through the callback given at construction.
 */
import type { LoopCommand } from './driver/connection-loop.js';

export interface Backend {
  send(command: LoopCommand): void;
  /** Releases the driver's resources once the client has ended. */
  close(): void;
}
