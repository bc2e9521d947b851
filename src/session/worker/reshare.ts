/**
 * Hands a message of an ending session to another member of its shared subscription group
 * (MQTT 5.0 section 4.8.2: a departing member's unacknowledged messages are not lost).
 *
 * The register chooses the member (its round-robin over the group), exactly as for a new
 * PUBLISH; only the delivery for that group is used, so subscribers outside the group never
 * see the message twice. The delivery goes the way the fanout sends one: a direct call for a
 * session on this thread, the destination thread's mailbox otherwise, counted in the shared
 * backlog first when it is QoS 1/2 (the receiving host subtracts it).
 */
import { BroadcastChannel, workerData } from 'node:worker_threads';
import type { SessionId } from '../../register/types.js';
import type { DeliveryInfo, RoutedMessage } from '../core/api.js';
import { countsInBacklog, mailboxName } from '../../broker/fanout.js';
import type { MailboxBatch, WorkerSetup } from '../../broker/thread-messages.js';
import type { WorkerThread } from './worker-thread.js';

/**
 * Delivers `message` to the member of `shareGroup` the register picks now, other than `from`
 * (whose register entries must already be removed). Resolves with whether a member took it.
 */
export async function reshare(thread: WorkerThread, message: RoutedMessage, shareGroup: string, from: SessionId): Promise<boolean> {
  // Publisher 0: No Local cannot apply (it is refused on shared subscriptions [MQTT-3.8.3-4]).
  const deliveries = thread.register.tryMatch(message.topic, 0) ?? (await thread.register.match(message.topic, 0));
  const target = deliveries.find((d) => d.shareGroup === shareGroup && d.session !== from);
  if (target === undefined) return false;
  const targetThread = thread.table.threadOf(target.session);
  if (targetThread === 0) return false;
  if (countsInBacklog(message, target.qos)) thread.backlog.added(target.session, Date.now());
  if (targetThread === thread.threadId) {
    const info: DeliveryInfo = { qos: target.qos, retainAsPublished: target.retainAsPublished, subscriptionIds: target.subscriptionIds, shareGroup };
    const host = thread.sessions.get(target.session);
    if (host === undefined) return false;
    host.deliver(message, info);
    return true;
  }
  const batch: MailboxBatch = {
    items: [
      {
        message,
        targets: [target.session, target.qos, target.retainAsPublished ? 1 : 0],
        subscriptionIds: [target.subscriptionIds],
        shareGroups: [shareGroup],
      },
    ],
  };
  // Rare (a member leaving with messages unacknowledged): a channel of its own, closed at once.
  const channel = new BroadcastChannel(mailboxName((workerData as WorkerSetup).brokerId, targetThread));
  channel.postMessage(batch);
  channel.close();
  return true;
}
