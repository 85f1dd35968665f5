/**
 * Cluster mode assembled for the composition root (cluster.enable): the cluster database
 * (created and migrated at start), the lease, the shared token registry and escontrol store, the
 * push ledger with the takeover replay, and the reader of other nodes' push outcomes.
 * docs/scaling.md describes the design.
 */
import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load.js';
import type { EventBus } from '../event-bus.js';
import { errorMessage } from '../errors.js';
import type { Service } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import type { ZmesEvents } from '../domain/bus-events.js';
import type { NotificationStage } from '../notify/pipeline.js';
import type { SharedPushing } from '../notify/channels/fcm-channel.js';
import type { EscontrolStoreOptions } from '../escontrol/overrides-store.js';
import type { Notification } from '../domain/notification.js';
import { ZmDatabase, type DbSettings } from '../zm/db.js';
import { checkClusterDatabaseName, prepareClusterDatabase } from './cluster-database.js';
import { LeaderLease } from './leader-lease.js';
import { ClusterTokenStore } from './cluster-token-store.js';
import { ClusterEscontrolStore } from './cluster-escontrol-store.js';
import { PushLedger } from './push-ledger.js';
import { RecentNotifications } from './recent-notifications.js';
import { PushOutcomes, type OutcomeTarget } from './push-outcomes.js';
import { LeaderGated } from './leader-gated.js';

/** How far back a new lease holder looks for pushes the previous one may not have finished. */
const TAKEOVER_WINDOW_MS = 60_000;

export interface Cluster {
  readonly nodeId: string;
  readonly db: ZmDatabase;
  readonly lease: LeaderLease;
  /** Before everything else that uses the cluster database: creates, migrates and connects it. */
  readonly database: Service;
  readonly recent: RecentNotifications;
  tokenStore(options: { path: string; log: Logger; clock: Clock; maxDevicesPerUser: number }): ClusterTokenStore;
  escontrolStore(options: EscontrolStoreOptions): ClusterEscontrolStore;
  /** For the FCM channel: push only while holding the lease, through the ledger. */
  sharedPushing(store: ClusterTokenStore): SharedPushing;
  /** Replays the last minute's notifications through `deliver` whenever this node takes the lease. */
  replayOnTakeover(deliver: (n: Notification) => Promise<void>): Service;
  outcomes(target: OutcomeTarget): PushOutcomes;
  /** A service that runs only on the lease holder. */
  leaderOnly(service: Service): Service;
  /** A pipeline stage that runs only on the lease holder (hooks: scripts and Notes writes once). */
  leaderOnlyStage(stage: NotificationStage): NotificationStage;
}

export function clusterNodeId(config: Config): string {
  return config.cluster.node_id ?? hostname();
}

export function createCluster(config: Config, server: DbSettings, bus: EventBus<ZmesEvents>, clock: Clock, log: Logger): Cluster {
  const name = config.cluster.database;
  checkClusterDatabaseName(name);
  const nodeId = clusterNodeId(config);
  const db = new ZmDatabase({ ...server, database: name }, log.child('cluster-db'), { clock, label: 'cluster database' });
  const lease = new LeaderLease(db, { nodeId, leaseSeconds: config.cluster.lease_seconds, clock }, log.child('cluster'));
  const ledger = new PushLedger(db, nodeId);
  lease.onChange((leader) => {
    if (!leader) ledger.reset();
  });
  const recent = new RecentNotifications(bus, TAKEOVER_WINDOW_MS, () => clock.now());
  const database: Service = {
    name: 'cluster database',
    async start(signal) {
      const prepared = await prepareClusterDatabase(server, name, nodeId, log.child('cluster'));
      await db.start(signal);
      log.info(`cluster node ${nodeId}: database ${name} at schema version ${prepared.version}`);
    },
    stop: () => db.stop(),
  };
  return {
    nodeId,
    db,
    lease,
    database,
    recent,
    tokenStore: (options) => new ClusterTokenStore({ ...options, db, nodeId }),
    escontrolStore: (options) => new ClusterEscontrolStore(options, db, nodeId, clock),
    sharedPushing: (store) => ({
      epoch: () => lease.epoch,
      refresh: () => store.refresh(),
      claim: (eventId, phase, devices, epoch) => ledger.claim(eventId, phase, devices, epoch),
      settle: (eventId, phase, outcomes) => ledger.settle(eventId, phase, outcomes),
    }),
    replayOnTakeover: (deliver) => {
      let dispose: (() => void) | undefined;
      let replaying: Promise<void> = Promise.resolve();
      return {
        name: 'cluster takeover replay',
        start() {
          dispose = lease.onChange((leader) => {
            if (!leader) return;
            const pending = recent.all();
            if (pending.length === 0) return;
            log.info(`taking over: delivering the last ${pending.length} notification(s) again; the push ledger skips what the previous holder finished`);
            replaying = replaying.then(async () => {
              for (const n of pending) await deliver(n).catch((err: unknown) => log.error(`takeover replay: ${errorMessage(err)}`));
            });
          });
          return Promise.resolve();
        },
        async stop() {
          dispose?.();
          await replaying;
        },
      };
    },
    outcomes: (target) => new PushOutcomes(db, nodeId, target, (eventId, phase) => recent.find(eventId, phase), clock, log.child('cluster')),
    leaderOnly: (service) => new LeaderGated(service, lease, log.child('cluster')),
    leaderOnlyStage: (stage) => (draft) => (lease.isLeader ? stage(draft) : draft),
  };
}
