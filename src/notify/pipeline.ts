/**
 * The one place where a detected ZoneMinder event becomes a notification: config gates, then
 * the stages (rules, hooks: later issues plug in here), then one immutable Notification on the
 * bus that every channel (WebSocket, FCM, MQTT, API script) delivers by its own rules.
 */
import { causeText } from './cause-text.js';
import type { EventBus } from '../event-bus.js';
import type { Logger } from '../log/logger.js';
import type { Service } from '../lifecycle.js';
import type { JsonObject, JsonValue } from '../domain/json.js';
import type { ChannelName, Notification, Phase } from '../domain/notification.js';
import type { ZmEvent, ZmEventChange } from '../domain/zm-event.js';
import type { ZmesEvents } from '../domain/bus-events.js';

export const ALL_CHANNELS: ReadonlySet<ChannelName> = new Set<ChannelName>(['web', 'fcm', 'mqtt', 'api']);

export interface PipelineOptions {
  sendStart: boolean;
  sendEnd: boolean;
  /** customize.read_alarm_cause: start cause with zone detail from Notes instead of the bare Cause. */
  causeFromNotes: boolean;
}

/** What stages work on before the notification is frozen. */
export interface DraftNotification {
  readonly phase: Phase;
  readonly event: ZmEvent;
  cause: string;
  detectionJson: JsonValue;
  rulesObject: JsonObject;
  picture: string | undefined;
  hookValue: number;
  channels: Set<ChannelName>;
}

/** A stage returns the (possibly changed) draft, or null to drop the notification. */
export type NotificationStage = (draft: DraftNotification) => DraftNotification | null | Promise<DraftNotification | null>;

export type PictureUrl = (event: ZmEvent, phase: Phase) => string | undefined;

export class NotificationPipeline implements Service {
  readonly name = 'notification pipeline';
  private readonly stages: NotificationStage[] = [];
  private dispose: (() => void) | undefined;
  /** Per event, the tail of its work: an end must not overtake a start whose hook still runs. */
  private readonly queues = new Map<bigint, Promise<unknown>>();

  constructor(
    private readonly bus: EventBus<ZmesEvents>,
    private readonly options: PipelineOptions,
    private readonly log: Logger,
    private readonly pictureUrl: PictureUrl = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  addStage(stage: NotificationStage): void {
    this.stages.push(stage);
  }

  start(): Promise<void> {
    this.dispose ??= this.bus.on('zm:event', (change) => this.handle(change));
    return Promise.resolve();
  }

  /** Unsubscribes; events already inside finish through the stages (their hooks stop with them). */
  stop(): Promise<void> {
    this.dispose?.();
    this.dispose = undefined;
    return Promise.resolve();
  }

  /** Handles changes of one event in order; different events proceed in parallel. */
  handle(change: ZmEventChange): Promise<Notification | null> {
    const id = change.event.eventId;
    const previous = this.queues.get(id) ?? Promise.resolve();
    const result = previous.then(() => this.process(change));
    const tail = result.catch(() => undefined);
    this.queues.set(id, tail);
    void tail.then(() => {
      if (this.queues.get(id) === tail) this.queues.delete(id);
    });
    return result;
  }

  private async process(change: ZmEventChange): Promise<Notification | null> {
    const phase = phaseOf(change);
    if (phase === null) return null;
    // A phase that notifies nobody still runs the stages: hooks do their work (Notes, user
    // scripts) whether or not a notification follows, as in the classic server.
    const notifies = phase === 'start' ? this.options.sendStart : this.options.sendEnd;
    if (!notifies && this.stages.length === 0) return null;
    let draft: DraftNotification | null = {
      phase,
      event: change.event,
      cause: causeText(change.event, phase, this.options.causeFromNotes),
      detectionJson: [],
      rulesObject: {},
      picture: this.pictureUrl(change.event, phase),
      hookValue: 0,
      channels: new Set(ALL_CHANNELS),
    };
    for (const stage of this.stages) {
      draft = await stage(draft);
      if (draft === null) {
        this.log.debug(() => `event ${change.event.eventId} ${phase}: dropped by a notification stage`);
        return null;
      }
    }
    if (!notifies) return null;
    const notification = freeze(draft, this.now());
    this.bus.emit('notification', notification);
    return notification;
  }
}

/** Start and a real end notify; a cause change, a deleted or abandoned event do not. */
function phaseOf(change: ZmEventChange): Phase | null {
  if (change.kind === 'start') return 'start';
  if (change.kind === 'end' && change.how === 'ended') return 'end';
  return null;
}

function freeze(draft: DraftNotification, detectedAt: number): Notification {
  return Object.freeze({
    phase: draft.phase,
    event: draft.event,
    cause: draft.cause,
    detectionJson: draft.detectionJson,
    rulesObject: draft.rulesObject,
    picture: draft.picture,
    hookValue: draft.hookValue,
    channels: new Set(draft.channels),
    detectedAt,
  });
}
