/**
 * Hosts for multi-node tests: one network namespace per node, each joined by a veth pair to a
 * bridge in the test's own namespace. The test reaches node i at `nodeAddress(i)`, nodes reach
 * the test's servers (MariaDB, the push endpoint) at `hostAddress`. Everything is named with a
 * random suffix and removed by destroy(), so parallel runs and leftovers never collide.
 * Needs root (CI runs as root) and iproute2.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface TestNetwork {
  readonly hostAddress: string;
  nodeAddress(index: number): string;
  /** The command prefix that runs a program inside node i's namespace. */
  exec(index: number): string[];
  destroy(): void;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export function netnsAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function createTestNetwork(nodes: number): TestNetwork {
  const id = randomBytes(3).toString('hex');
  // A /24 in 10.200-10.249 picked at random, so two runs on one machine do not clash.
  const subnet = `10.${200 + (parseInt(id.slice(0, 2), 16) % 50)}.${parseInt(id.slice(2, 4), 16)}`;
  const bridge = `zmbr${id}`;
  const namespaces: string[] = [];
  const links: string[] = [];
  const destroy = () => {
    for (const ns of namespaces) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
    for (const link of [...links, bridge]) {
      try {
        ip('link', 'del', link);
      } catch {
        // removed with its namespace
      }
    }
  };
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    for (let i = 0; i < nodes; i++) {
      const ns = `zmes-${id}-${i}`;
      const outer = `zmv${id}${i}`;
      ip('netns', 'add', ns);
      namespaces.push(ns);
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      links.push(outer);
      ip('link', 'set', outer, 'master', bridge);
      ip('link', 'set', outer, 'up');
      ip('-n', ns, 'addr', 'add', `${subnet}.${10 + i}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    hostAddress: `${subnet}.1`,
    nodeAddress: (index) => `${subnet}.${10 + index}`,
    exec: (index) => ['ip', 'netns', 'exec', namespaces[index]!],
    destroy,
  };
}
