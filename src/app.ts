/**
 * The composition root: builds every module from the configuration, starts them in
 * dependency order and stops them in reverse. Nothing else constructs long-lived objects.
 */
import type { Config } from './config/load.js';
import { systemClock, type Clock } from './clock.js';
import { ServiceRunner } from './lifecycle.js';
import { ZmesError } from './errors.js';
import type { Logger } from './log/logger.js';
import { ZMES_VERSION } from './version.js';
import { ZmDatabase, type DbSettings } from './zm/db.js';
import { detectSchema, type ZmSchema } from './zm/schema.js';
import { AuthCache } from './zm/auth/auth-cache.js';
import { Authenticator } from './zm/auth/authenticator.js';
import { LoginLimiter } from './zm/auth/login-limiter.js';
import { ZmUserDirectory } from './zm/auth/users-repo.js';
import { loadUws } from './ws/uws.js';
import { DEFAULT_TURN_BUDGET_MS, WsServer } from './ws/server.js';
import { Pacer } from './pacer.js';
import { parseAddressList } from './config/formats.js';
import { SessionHandler } from './ws/session-handler.js';
import type { Session } from './ws/session.js';
import { EventBus } from './event-bus.js';
import type { ZmesEvents } from './domain/bus-events.js';
import { NotificationPipeline } from './notify/pipeline.js';
import { WsChannel } from './notify/channels/ws-channel.js';
import { WsReplay } from './notify/channels/ws-replay.js';
import { EventDetection, eventDetectionOptions } from './zm/event-detection.js';
import type { App as FirebaseApp } from 'firebase-admin/app';
import { TokenStore } from './tokens/token-store.js';
import { tokenStoreRegistry } from './tokens/token-registry.js';
import { createFcmSender, type FcmSender } from './push/fcm-sender.js';
import type { ProxyTransportOptions } from './push/fcm-proxy.js';
import { buildPictureUrl, payloadOptionsFromConfig, type PayloadOptions } from './push/fcm-payload.js';
import { PushDevices } from './notify/channels/push-devices.js';
import { FcmChannel } from './notify/channels/fcm-channel.js';
import { AccessRecheck } from './zm/auth/access-recheck.js';
import { ZmNotificationsRegistry } from './zm/notifications-registry.js';
import { enforceAccess } from './ws/access-enforcer.js';
import type { PictureUrl } from './notify/pipeline.js';
import { MemoryLastSent } from './notify/throttle.js';
import type { NotificationStages } from './notify/stages.js';
import { secretValues } from './config/load.js';
import type { RecentLog } from './status/recent-log.js';
import type { PushResults } from './status/push-results.js';
import type { StatusBoard } from './status/status-board.js';
import type { StatusServer } from './status/status-server.js';
import { ZmApiClient, zmApiSettingsFrom } from './zm/api/zm-api-client.js';
import { EventPictures } from './notify/pictures/event-pictures.js';
import { pictureEndpoint } from './notify/pictures/picture-endpoint.js';
import { PictureLinks } from './notify/pictures/picture-links.js';
import { loadPictureKey, pictureKeyPath } from './notify/pictures/picture-key.js';
import { hostname } from 'node:os';
import type { Service } from './lifecycle.js';
import type { Cluster } from './cluster/cluster.js';
import type { ClusterTokenStore } from './cluster/cluster-token-store.js';

export interface RunningApp {
  /** The WebSocket port actually bound (differs from the config when it asks for 0). */
  readonly port: number;
  readonly db: ZmDatabase;
  readonly sessions: SessionHandler;
  readonly server: WsServer<Session>;
  readonly bus: EventBus<ZmesEvents>;
  readonly pipeline: NotificationPipeline;
  readonly detection: EventDetection;
  readonly access: AccessRecheck;
  /** ZoneMinder's Notifications table as a push registry; undefined when push is off or not wanted. */
  readonly zmNotifications: ZmNotificationsRegistry | undefined;
  /** The status page's port actually bound; undefined when status.enable is off. */
  readonly statusPort: number | undefined;
  stop(): Promise<void>;
}

export interface AppDependencies {
  clock?: Clock;
  /** A firebase-admin App to push through instead of the service-account file (tests). */
  firebaseApp?: FirebaseApp;
  /** Extra settings for the FCM proxy transport (e.g. an agent trusting a test CA). */
  proxy?: Omit<ProxyTransportOptions, 'url' | 'key'>;
  /** What the escontrol `restart` command calls (src/main.ts restarts in-process). */
  restart?: () => void;
}

export function dbSettingsFrom(config: Config): DbSettings {
  const db = config.database;
  return { host: db.host, port: db.port, socket: db.socket, database: db.name, user: db.user, password: db.password ?? '' };
}

/** ZoneMinder's schema, detected on first call; `current` is it once known (for the status page). */
export interface LazySchema {
  (): Promise<ZmSchema>;
  readonly current: ZmSchema | undefined;
}

/**
 * Detects ZoneMinder's schema on first use and remembers it; a failure (database down) is
 * not remembered, so the next caller tries again.
 */
export function lazySchema(db: ZmDatabase, log: Logger): LazySchema {
  let detected: Promise<ZmSchema> | undefined;
  let current: ZmSchema | undefined;
  const get = () => {
    detected ??= detectSchema(db).then(
      (schema) => {
        log.info(`ZoneMinder schema ${schema.label} detected`);
        current = schema;
        return schema;
      },
      (err: unknown) => {
        detected = undefined;
        throw err;
      },
    );
    return detected;
  };
  return Object.defineProperty(get, 'current', { get: () => current }) as LazySchema;
}

export async function startApp(config: Config, log: Logger, deps: AppDependencies = {}): Promise<RunningApp> {
  const clock = deps.clock ?? systemClock;
  // Optional parts are imported only when configured: an idle server holds only what it uses
  // (firebase-admin alone is tens of megabytes, the mqtt package several).
  const statusModules = config.status.enable ? await importStatusModules() : undefined;
  // The status page lists the warnings and errors of every module: they pass through this copy.
  const recentLog = statusModules ? new statusModules.RecentLog(() => clock.now()) : undefined;
  if (recentLog && statusModules) log = statusModules.recordingLogger(log, recentLog, secretValues(config));
  log.info(`zmes ${ZMES_VERSION} starting (Node ${process.version})`);
  loadUws();

  const db = new ZmDatabase(dbSettingsFrom(config), log.child('db'), { clock });
  const schema = lazySchema(db, log.child('db'));
  const users = new ZmUserDirectory(db, schema, clock);
  const authenticator = new Authenticator(
    users,
    new AuthCache({ maxEntries: 10_000, ttlMs: 15 * 60_000, clock }),
    log.child('auth'),
    () => clock.now(),
  );
  const limiter = new LoginLimiter(
    {
      maxFailures: config.auth.max_failures,
      maxFailuresPerUser: config.auth.max_failures_per_user,
      maxFailuresPerAddress: config.auth.max_failures_per_address,
      windowMs: config.auth.failure_window * 1000,
    },
    clock,
  );
  // One queue for the WebSocket work: upgrades, frames, closes and what follows a login.
  const pacer = new Pacer(DEFAULT_TURN_BUDGET_MS);
  const sessions = new SessionHandler(
    {
      authEnabled: config.auth.enable,
      authTimeoutSec: config.auth.timeout,
      pushEnabled: config.fcm.enable,
      escontrolEnabled: config.general.use_escontrol_interface,
      maxFrameBytes: config.network.max_frame_size,
    },
    authenticator,
    limiter,
    clock,
    log.child('ws'),
    pacer,
  );
  const server = new WsServer<Session>(
    {
      address: config.network.address,
      port: config.network.port,
      tls: config.ssl.enable ? tlsFiles(config) : null,
      maxPayloadLength: config.network.max_frame_size,
      maxConnections: config.network.max_connections,
      maxBackpressure: config.network.max_backpressure,
      idleTimeout: config.network.idle_timeout,
      trustedProxies: parseAddressList(config.network.trusted_proxies),
      pacer,
    },
    sessions,
    log.child('ws'),
    {
      health: () => health(),
      ready: () => (db.isAvailable ? { ready: true } : { ready: false, reason: "ZoneMinder's database is unreachable" }),
      picture: (idText, query) => (pictureAnswer ? pictureAnswer(idText, query) : Promise.resolve({ status: 404, contentType: 'text/plain', body: 'no pictures here\n' })),
    },
  );
  if (!config.auth.enable) log.warn('auth.enable is off: every login is accepted, whatever its credentials');

  const bus = new EventBus<ZmesEvents>(log.child('bus'));
  // Several nodes on one ZoneMinder (docs/scaling.md): shared registry, once-only side effects.
  const cluster: Cluster | undefined = config.cluster.enable
    ? (await import('./cluster/cluster.js')).createCluster(config, dbSettingsFrom(config), bus, clock, log.child('cluster'))
    : undefined;
  // ZoneMinder's web API (optional): event pictures, signed picture links, the alarm buttons.
  const apiSettings = zmApiSettingsFrom(config);
  const api = apiSettings ? new ZmApiClient(apiSettings, log.child('zm-api'), clock) : undefined;
  const pictures = api ? new EventPictures(bus, api, clock, log.child('pictures')) : undefined;
  const links = api && pictures && config.customize.include_picture && !config.customize.picture_url ? pictureLinksFrom(config, log.child('pictures')) : undefined;
  const pictureAnswer = links && pictures ? pictureEndpoint(links, pictures, clock, log.child('pictures')) : undefined;
  const pipeline = new NotificationPipeline(
    bus,
    {
      sendStart: config.customize.send_event_start_notification,
      sendEnd: config.customize.send_event_end_notification,
      causeFromNotes: config.customize.read_alarm_cause,
    },
    log.child('notify'),
    pictureUrlFrom(config) ?? (links ? (event) => links.sign(event.eventId, clock.now()) : undefined),
  );

  // With the interface off the admin login is refused by the session layer and no monitor is
  // muted or forced, so none of escontrol is loaded.
  const escontrolModule = config.general.use_escontrol_interface ? await import('./escontrol/escontrol.js') : undefined;
  const monitorIds = escontrolModule?.trackMonitorIds(bus);
  const escontrol =
    escontrolModule && monitorIds
      ? escontrolModule.createEscontrol({
          config,
          log: log.child('escontrol'),
          restart: deps.restart ?? (() => log.warn('escontrol restart requested, but this process cannot restart itself')),
          monitors: monitorIds.ids,
          ...(cluster ? { makeStore: (options: Parameters<Cluster['escontrolStore']>[0]) => cluster.escontrolStore(options) } : {}),
        })
      : undefined;
  if (escontrol) {
    sessions.setAdminInterface(escontrol.handler);
    // First stage: a muted monitor costs nothing further, and rules must see the forced mark.
    pipeline.addStage(escontrol.stage);
  }
  // Then the rules and hooks (rules → hooks → rules: a time-only mute runs no hook); the api
  // push channel shares the hooks' script runner.
  const notifyStages: NotificationStages | undefined =
    config.customize.use_hooks || config.customize.es_rules || config.push.use_api_push
      ? (await import('./notify/stages.js')).createNotificationStages(config, {
          db,
          log: log.child('hooks'),
          clock,
          ...(escontrol ? { forced: escontrol.isForced } : {}),
        })
      : undefined;
  // With several nodes the hook scripts (and their Notes writes) run once, on the lease holder.
  for (const stage of notifyStages?.stages ?? []) pipeline.addStage(cluster && stage === notifyStages?.hooks.stage ? cluster.leaderOnlyStage(stage) : stage);

  const push = log.child('push');
  const { options: payloadOptions, warnings: payloadWarnings } = payloadOptionsFromConfig(config);
  for (const warning of payloadWarnings) push.warn(warning);
  const tokenOptions = { path: config.fcm.token_file, log: push, clock, maxDevicesPerUser: config.fcm.max_devices_per_user };
  const tokenStore = config.fcm.enable ? (cluster ? cluster.tokenStore(tokenOptions) : new TokenStore(tokenOptions)) : undefined;
  const sender = config.fcm.enable
    ? await createFcmSender({
        fcm: config.fcm,
        payload: payloadOptions,
        log: push,
        clock,
        ...(deps.firebaseApp ? { app: deps.firebaseApp } : {}),
        ...(deps.proxy ? { proxy: deps.proxy } : {}),
      })
    : undefined;
  const devices = tokenStore
    ? new PushDevices(tokenStore, sender !== undefined, push, { maxTokenFrames: config.fcm.max_token_frames, clock })
    : undefined;
  if (devices) sessions.addListener(devices);
  // ZoneMinder's own push registry (1.39.2+), only when zmes can push at all.
  const zmNotifications =
    sender && config.fcm.use_zm_notifications ? new ZmNotificationsRegistry(db, { authEnabled: config.auth.enable }, clock, log.child('zm-notifications')) : undefined;
  const memoryLastSent = new MemoryLastSent();
  const wsChannel = new WsChannel(
    bus,
    () => server.liveConnections(),
    devices ? devices.lastSentStore(memoryLastSent) : memoryLastSent,
    log.child('ws'),
    devices?.chooseFrame,
  );
  sessions.addListener({ closed: (connection) => wsChannel.forgetConnection(connection) });
  const replay = new WsReplay(bus, wsChannel, () => server.liveConnections(), clock, log.child('ws'), {
    windowMs: config.customize.replay_window * 1000,
  });
  sessions.addListener(replay);
  const access = new AccessRecheck(
    users,
    { authEnabled: config.auth.enable, intervalMs: config.auth.recheck_interval * 1000 },
    () => usersInUse(server, tokenStore, zmNotifications),
    clock,
    log.child('auth'),
  );
  access.onChecked((snapshot) => enforceAccess(server.liveConnections(), snapshot, Math.floor(clock.now() / 1000), log.child('ws')));
  // The status page shows each device's last push: it watches the results on their way back.
  const pushResults = statusModules && sender ? new statusModules.PushResults(() => clock.now()) : undefined;
  const fcmChannel =
    tokenStore && sender && devices
      ? new FcmChannel(
          bus,
          [tokenStoreRegistry(tokenStore), ...(zmNotifications ? [zmNotifications] : [])],
          pushResults ? pushResults.observe(sender) : sender,
          devices,
          payloadOptions,
          access.visibilityOf,
          push,
          () => clock.now(),
          cluster ? cluster.sharedPushing(tokenStore as ClusterTokenStore) : undefined,
        )
      : undefined;
  // With several nodes, side effects outside this node's own sockets happen on the lease holder only.
  const once = (service: Service): Service => (cluster ? cluster.leaderOnly(service) : service);
  const channels: Service[] = [wsChannel];
  if (fcmChannel) channels.push(fcmChannel);
  const mqtt = config.mqtt.enable
    ? (await import('./notify/channels/mqtt-channel.js')).createMqttChannel(config, bus, log.child('mqtt'), clock, api ? (id, command) => api.setAlarm(id, command) : undefined)
    : undefined;
  if (mqtt) channels.push(once(mqtt));
  if (config.push.use_api_push && notifyStages) {
    const { ApiPushChannel, apiPushOptionsFrom } = await import('./notify/channels/api-push-channel.js');
    const { options: apiPush, warnings: apiPushWarnings } = apiPushOptionsFrom(config);
    for (const warning of apiPushWarnings) log.warn(warning);
    if (apiPush) channels.push(once(new ApiPushChannel(bus, notifyStages.hooks, apiPush, log.child('api'))));
  }
  const clusterServices: Service[] = cluster
    ? [
        cluster.recent,
        ...(fcmChannel ? [cluster.replayOnTakeover((n) => fcmChannel.deliver(n))] : []),
        ...(devices ? [cluster.outcomes(devices)] : []),
      ]
    : [];
  const detection = new EventDetection(db, schema, bus, eventDetectionOptions(config), log.child('events'), clock);
  const status =
    recentLog && statusModules
      ? createStatus(config, statusModules, { bus, clock, log: log.child('status'), recentLog, pushResults, db, schema, detection, server, tokenStore, sender, mqtt, payloadOptions, api, pictures })
    : undefined;
  if (status) sessions.addListener(status.board);

  // Declared before anything starts: /health may be asked as soon as the server listens.
  const health = () => ({
    database: { state: db.isAvailable ? 'up' : 'down', polls: detection.stats.polls, last_event_id: detection.stats.lastEventId?.toString() ?? null },
    mqtt: mqtt ? { state: mqtt.connected ? 'connected' : 'disconnected' } : { state: 'off' },
    push: { state: config.fcm.enable ? 'on' : 'off', devices: tokenStore ? tokenStore.all().length : 0 },
    zoneminder_api: api ? api.health() : { state: 'off' },
    ...(cluster ? { cluster: { node: cluster.nodeId, lease_holder: cluster.lease.isLeader, epoch: cluster.lease.epoch ?? null } } : {}),
  });
  const runner = new ServiceRunner(log);
  try {
    await runner.start([
      ...(cluster ? [cluster.database, cluster.lease] : []),
      ...(tokenStore ? [tokenStore] : []),
      ...(escontrol?.services ?? []),
      db,
      ...(api ? [api] : []),
      ...(zmNotifications ? [zmNotifications] : []),
      ...(notifyStages ? [notifyStages] : []),
      ...(sender ? [sender] : []),
      server,
      access,
      // The pipeline and the channels start before detection, so that no event is emitted into an
      // unsubscribed bus, and stop after it (reverse order), so that none is left half delivered.
      pipeline,
      ...clusterServices,
      ...channels,
      replay,
      ...(pictures ? [once(pictures)] : []),
      ...(status ? [status.board] : []),
      detection,
      ...(status ? [status.server] : []),
    ]);
  } catch (err) {
    await runner.stop();
    throw err;
  }
  // Home Assistant's database entity follows every change, starting with the state now.
  const stopDatabaseEvents = db.onAvailabilityChange((available) => bus.emit('zm:database', { available }));
  bus.emit('zm:database', { available: db.isAvailable });
  // Detect the schema now when the database is up, so a wrong database shows in the log at once.
  if (db.isAvailable) await schema().catch((err: unknown) => log.error(`cannot read ZoneMinder's schema: ${String(err)}`));
  log.info(`zmes ${ZMES_VERSION} ready`);
  return {
    port: server.port,
    db,
    sessions,
    server,
    bus,
    pipeline,
    detection,
    access,
    zmNotifications,
    statusPort: status?.server.port,
    stop: async () => {
      log.info('zmes stopping');
      stopDatabaseEvents();
      await runner.stop();
      monitorIds?.dispose();
      log.info('zmes stopped');
    },
  };
}

/**
 * ZoneMinder users whose access the re-check must follow: logged-in sockets, push-token owners
 * and the owners of devices in ZoneMinder's Notifications table.
 */
function* usersInUse(server: WsServer<Session>, tokens: TokenStore | undefined, zmNotifications: ZmNotificationsRegistry | undefined): Iterable<string> {
  for (const connection of server.liveConnections()) {
    const user = connection.session.user;
    if (connection.session.state === 'authenticated' && user && user.via !== 'auth-disabled') yield user.name;
  }
  if (tokens) for (const record of tokens.all()) if (record.zmUser !== undefined) yield record.zmUser;
  if (zmNotifications) yield* zmNotifications.usersInUse();
}

/** customize.picture_url for events, when include_picture is on (hooks refine BESTMATCH later). */
function pictureUrlFrom(config: Config): PictureUrl | undefined {
  const { include_picture: include, picture_url: template, picture_portal_username: username, picture_portal_password: password } = config.customize;
  if (!include || !template) return undefined;
  return (event) => buildPictureUrl({ template, eventId: event.eventId, cause: event.cause, detectionJson: [], hook: 'off', username, password });
}

function tlsFiles(config: Config): { cert: string; key: string } {
  const { cert, key } = config.ssl;
  if (!cert || !key) {
    // The config schema cannot express "required when enable is on"; say it here, clearly.
    const missing = [cert ? null : 'ssl.cert', key ? null : 'ssl.key'].filter((o) => o !== null).join(' and ');
    const verb = missing.includes(' and ') ? 'are' : 'is';
    throw new ZmesError('ZMES_CONFIG_INVALID', `ssl.enable is on but ${missing} ${verb} not set (set the certificate and key files, or set ssl.enable: no)`);
  }
  return { cert, key };
}

/** Picture links signed by zmes, based on network.public_url (else this host's name and port). */
function pictureLinksFrom(config: Config, log: Logger): PictureLinks {
  const { public_url: publicUrl, port } = config.network;
  let baseUrl = publicUrl?.replace(/\/+$/, '');
  if (!baseUrl) {
    baseUrl = `${config.ssl.enable ? 'https' : 'http'}://${hostname()}:${port}`;
    log.warn(`network.public_url is not set: picture links use ${baseUrl}; set it to the address phones reach zmes by`);
  }
  return new PictureLinks({ baseUrl, lifetimeSec: config.zoneminder.picture_link_lifetime, key: () => loadPictureKey(pictureKeyPath(config.general.base_data_path), log) });
}

/** What the status page reads, built by startApp before anything starts. */
interface StatusParts {
  readonly bus: EventBus<ZmesEvents>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly recentLog: RecentLog;
  readonly pushResults: PushResults | undefined;
  readonly db: ZmDatabase;
  readonly schema: LazySchema;
  readonly detection: EventDetection;
  readonly server: WsServer<Session>;
  readonly tokenStore: TokenStore | undefined;
  readonly sender: FcmSender | undefined;
  readonly mqtt: { readonly connected: boolean } | undefined;
  readonly payloadOptions: PayloadOptions;
  readonly api: ZmApiClient | undefined;
  readonly pictures: EventPictures | undefined;
}

/** The status page's modules, loaded only when status.enable is on. */
async function importStatusModules() {
  const [recent, results, board, server, test] = await Promise.all([
    import('./status/recent-log.js'),
    import('./status/push-results.js'),
    import('./status/status-board.js'),
    import('./status/status-server.js'),
    import('./status/test-push.js'),
  ]);
  return {
    RecentLog: recent.RecentLog,
    recordingLogger: recent.recordingLogger,
    PushResults: results.PushResults,
    StatusBoard: board.StatusBoard,
    StatusServer: server.StatusServer,
    statusServerOptionsFrom: server.statusServerOptionsFrom,
    createTestPush: test.createTestPush,
  };
}
type StatusModules = Awaited<ReturnType<typeof importStatusModules>>;

/** The status page: what it shows (StatusBoard) and its own HTTP server (status.port). */
function createStatus(config: Config, modules: StatusModules, parts: StatusParts): { board: StatusBoard; server: StatusServer } {
  const { StatusBoard, StatusServer, statusServerOptionsFrom, createTestPush } = modules;
  const { tokenStore, sender, mqtt, pushResults, clock } = parts;
  const board = new StatusBoard(
    parts.bus,
    {
      version: ZMES_VERSION,
      database: parts.db,
      schema: () => parts.schema.current?.label ?? null,
      detection: parts.detection,
      clients: () => parts.server.liveConnections(),
      devices: tokenStore ? () => tokenStore.all() : undefined,
      mqtt: mqtt
        ? {
            get connected() {
              return mqtt.connected;
            },
            detail: config.mqtt.server ? `broker ${config.mqtt.server}` : 'broker not set',
          }
        : { off: 'mqtt.enable is off' },
      fcm: sender ? { mode: sender.mode } : { off: config.fcm.enable ? 'neither a service-account file nor an FCM proxy is configured' : 'fcm.enable is off' },
      zoneminderApi: parts.api
        ? () => {
            const api = parts.api!.health();
            return {
              state: api.state === 'down' || api.state === 'refused' ? 'down' : 'up',
              detail: config.zoneminder.api_url ?? `${config.zoneminder.portal_url ?? ''}/api`,
              lastSuccess: api.lastSuccessAt === null ? null : { at: api.lastSuccessAt, text: 'answered' },
              lastError: api.lastErrorAt === null || api.lastError === null ? null : { at: api.lastErrorAt, text: api.lastError },
            };
          }
        : undefined,
    },
    parts.recentLog,
    pushResults,
    clock,
  );
  const testPush =
    tokenStore && sender
      ? createTestPush({
          devices: () => tokenStore.all(),
          sender,
          formatTime: parts.payloadOptions.formatTime,
          now: () => clock.now(),
          record: (result) => pushResults?.record(result, true),
          remove: (token, why) => tokenStore.remove(token, why),
        })
      : () => Promise.resolve({ result: 'push-off', detail: 'push notifications are off' } as const);
  const server = new StatusServer(
    statusServerOptionsFrom(config),
    {
      version: ZMES_VERSION,
      snapshot: () => board.snapshot(),
      onChange: (listener) => board.onChange(listener),
      testPush,
      ...(parts.pictures ? { picture: (eventId: bigint) => parts.pictures!.forLink(eventId) } : {}),
    },
    parts.log,
    clock,
  );
  return { board, server };
}
