/**
 * The one shape every delivery channel has. A channel is a Service: the service runner starts it
 * (it subscribes to the bus's `notification` events) and stops it (it unsubscribes and waits for
 * deliveries under way). Each renders its own payload from the immutable notification and
 * delivers only when the notification's routing allows its channel name (hooks and rules).
 */
import type { Service } from '../../lifecycle.js';
import type { ChannelName, Notification } from '../../domain/notification.js';

export interface Channel extends Service {
  /** The routing name hooks and rules use for this channel (`web`, `fcm`, `mqtt`, `api`). */
  readonly channel: ChannelName;
}

/** Whether the hook and rule routing lets `notification` through `channel`. */
export function routedTo(notification: Notification, channel: Channel): boolean {
  return notification.channels.has(channel.channel);
}
