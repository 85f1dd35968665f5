// Benchmark (not a test): the cost of one access re-check (issue: revocation within 10 s) for
// 10,000 logged-in sockets over 1,000 ZoneMinder users, on the 1.36 schema (Users.MonitorIds)
// and on 1.38 (Monitors_Permissions, 2 rows per user), against a real throwaway MariaDB.
// The sockets are protocol sessions without a network socket: the re-check never touches the
// network, only each session's user, so real sockets would measure nothing more.
// Run: node --import tsx bench/access-recheck.ts   (needs the test MariaDB, like npm test)
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createZmTestDatabase, type ZmGeneration } from '../test/helpers/zm-db.js';
import { memoryLogger } from '../test/helpers/memory-log.js';
import { ZmDatabase } from '../src/zm/db.js';
import { ZmUserDirectory } from '../src/zm/auth/users-repo.js';
import { AccessRecheck } from '../src/zm/auth/access-recheck.js';
import { enforceAccess } from '../src/ws/access-enforcer.js';
import { Connection } from '../src/ws/connection.js';
import { newSession, type Session } from '../src/ws/session.js';
import { systemClock } from '../src/clock.js';
import { lazySchema } from '../src/app.js';
import { VISIBLE_ALL } from '../src/zm/auth/permissions.js';

const USERS = 1000;
const SOCKETS = 10_000;
const ROUNDS = 20;

async function run(generation: ZmGeneration): Promise<void> {
  const zm = await createZmTestDatabase({ generation, appUser: true });
  const logs = memoryLogger('warn');
  const db = new ZmDatabase(zm.appSettings!, logs.log);
  try {
    const monitorIds: number[] = [];
    for (let i = 0; i < 20; i++) {
      await zm.execute("INSERT INTO Monitors (Name, Type) VALUES (?, 'Local')", [`cam${i}`]);
      monitorIds.push(i + 1);
    }
    const columns = generation === '1.38' ? '' : ', MonitorIds';
    for (let i = 0; i < USERS; i++) {
      const monitorIds = generation === '1.38' ? [] : [i % 3 === 0 ? '1,2,3' : null];
      await zm.execute(
        `INSERT INTO Users (Username, Password, Enabled, Stream, Events, Control, Monitors, \`Groups\`, Devices, System, TokenMinExpiry, APIEnabled${columns}) ` +
          `VALUES (?, 'x', 1, 'View', 'View', 'None', 'View', 'None', 'None', 'None', 0, 1${generation === '1.38' ? '' : ', ?'})`,
        [`user${i}`, ...monitorIds],
      );
    }
    if (generation === '1.38') {
      await zm.execute(
        "INSERT INTO Monitors_Permissions (MonitorId, UserId, Permission) SELECT 1, Id, 'None' FROM Users WHERE Username LIKE 'user%'",
        [],
      );
      await zm.execute(
        "INSERT INTO Monitors_Permissions (MonitorId, UserId, Permission) SELECT 2, Id, 'View' FROM Users WHERE Username LIKE 'user%'",
        [],
      );
    }
    await db.start(new AbortController().signal);
    const users = new ZmUserDirectory(db, lazySchema(db, logs.log), systemClock);
    const connections: Connection<Session>[] = [];
    for (let i = 0; i < SOCKETS; i++) {
      const session = newSession();
      session.state = 'authenticated';
      session.user = { name: `user${i % USERS}`, id: null, visibility: VISIBLE_ALL, via: 'password', basis: { kind: 'password', passwordHash: 'x' } };
      connections.push(new Connection<Session>(i, '127.0.0.1', undefined, session, () => {}));
    }
    const inUse = function* () {
      for (const c of connections) if (c.session.user) yield c.session.user.name;
    };
    let applyMs = 0;
    const recheck = new AccessRecheck(users, { authEnabled: true, intervalMs: 5000 }, inUse, systemClock, logs.log);
    recheck.onChecked((snapshot) => {
      const t = performance.now();
      enforceAccess(connections, snapshot, Math.floor(Date.now() / 1000), logs.log);
      applyMs = performance.now() - t;
    });
    await recheck.checkNow(); // warm-up (schema detection, first visibility updates)
    const totals: number[] = [];
    const applies: number[] = [];
    const stall = monitorEventLoopDelay({ resolution: 1 });
    stall.enable();
    const cpuBefore = process.cpuUsage();
    for (let r = 0; r < ROUNDS; r++) {
      const t = performance.now();
      await recheck.checkNow();
      totals.push(performance.now() - t);
      applies.push(applyMs);
    }
    const cpu = process.cpuUsage(cpuBefore);
    stall.disable();
    totals.sort((a, b) => a - b);
    applies.sort((a, b) => a - b);
    const cpuMs = (cpu.user + cpu.system) / 1000 / ROUNDS;
    console.log(
      `ZoneMinder ${generation}: ${SOCKETS} sockets over ${USERS} users — one re-check p50 ${totals[ROUNDS >> 1]!.toFixed(1)} ms, ` +
        `max ${totals[ROUNDS - 1]!.toFixed(1)} ms wall (zmes CPU ${cpuMs.toFixed(1)} ms; applying to sockets p50 ${applies[ROUNDS >> 1]!.toFixed(2)} ms); ` +
        `worst loop stall ${(stall.max / 1e6).toFixed(1)} ms; at the default 5 s interval: ${((cpuMs / 5000) * 100).toFixed(2)} % of a core`,
    );
    void monitorIds;
  } finally {
    await db.stop();
    await zm.drop();
  }
}

await run('1.36');
await run('1.38');
