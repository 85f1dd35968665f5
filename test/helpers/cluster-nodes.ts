/**
 * zmes cluster nodes as real processes, each in its own network namespace (netns.ts), against
 * one private MariaDB reachable on the test network, pushing through a fake FCM proxy.
 * Used by the failover test and bench/cluster.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mariadb';
import { createZmTestDatabase, type ZmTestDatabase } from './zm-db.js';
import { startPrivateMariadb, type PrivateMariadb } from './private-mariadb.js';
import { startFakeFcmProxy, type FakeProxy } from './fake-fcm-proxy.js';
import { cleanEnvironment, startProcess, type ZmesProcess } from './zmes-process.js';
import { createTestNetwork, type TestNetwork } from './netns.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const PROXY_KEY = 'cluster-proxy-key';

export interface ClusterBed {
  readonly net: TestNetwork;
  readonly mariadb: PrivateMariadb;
  readonly db: ZmTestDatabase;
  readonly proxy: FakeProxy;
  readonly clusterDb: string;
  readonly nodes: ZmesProcess[];
  startNode(index: number, extra?: readonly string[]): ZmesProcess;
  /** The node's WebSocket URL as the test reaches it. */
  url(index: number): string;
  /** Current lease holder and epoch. */
  lease(): Promise<{ holder: string | null; epoch: number }>;
  destroy(): Promise<void>;
}

export async function createClusterBed(size: number): Promise<ClusterBed> {
  const net = createTestNetwork(size);
  const dataDirs: string[] = [];
  let mariadb: PrivateMariadb | undefined;
  let db: ZmTestDatabase | undefined;
  let proxy: FakeProxy | undefined;
  const nodes: ZmesProcess[] = [];
  const destroy = async () => {
    await Promise.all(nodes.map((n) => n?.stop()));
    await proxy?.close();
    await db?.drop();
    await mariadb?.destroy();
    net.destroy();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    mariadb = await startPrivateMariadb({ extraAddresses: [net.hostAddress] });
    const admin = await createConnection({ host: '127.0.0.1', port: mariadb.port, user: 'root', password: '' });
    await admin.query("CREATE USER 'zmes'@'%' IDENTIFIED BY 'zmes-pw'");
    await admin.query("GRANT ALL ON *.* TO 'zmes'@'%'");
    await admin.end();
    db = await createZmTestDatabase({ server: { host: '127.0.0.1', port: mariadb.port, user: 'root', password: '' } });
    proxy = await startFakeFcmProxy({ key: PROXY_KEY, host: net.hostAddress });
  } catch (err) {
    await destroy();
    throw err;
  }
  const clusterDb = `${db.name}_cluster`;
  const server = mariadb;
  const zm = db;
  const push = proxy;
  return {
    net,
    mariadb: server,
    db: zm,
    proxy: push,
    clusterDb,
    nodes,
    startNode(index, extra = []) {
      const data = mkdtempSync(join(tmpdir(), `zmes-node${index}-`));
      dataDirs.push(data);
      const [command, ...prefix] = net.exec(index);
      const node = startProcess(
        command!,
        [
          ...prefix,
          process.execPath, '--import', 'tsx', 'src/main.ts',
          `--database.host=${net.hostAddress}`, `--database.port=${server.port}`, `--database.name=${zm.name}`,
          '--database.user=zmes', '--database.password=zmes-pw', `--database.zm_conf=${join(data, 'no-zm.conf')}`,
          `--general.base_data_path=${data}`, '--network.address=0.0.0.0', '--network.port=9000', '--ssl.enable=no',
          '--mqtt.enable=no', `--fcm.fcm_v1_url=${push.url}`, `--fcm.fcm_v1_key=${PROXY_KEY}`,
          '--cluster.enable=yes', `--cluster.database=${clusterDb}`, `--cluster.node_id=node-${index}`,
          ...extra,
        ],
        { cwd: ROOT, env: cleanEnvironment() },
      );
      nodes[index] = node;
      return node;
    },
    url: (index) => `ws://${net.nodeAddress(index)}:9000`,
    async lease() {
      const [row] = await zm.query(`SELECT holder, epoch FROM \`${clusterDb}\`.leases WHERE name = 'leader'`);
      return { holder: (row?.['holder'] as string | null | undefined) ?? null, epoch: Number(row?.['epoch'] ?? 0) };
    },
    destroy,
  };
}
