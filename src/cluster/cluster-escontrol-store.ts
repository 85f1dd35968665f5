/**
 * escontrol overrides shared by the nodes of a cluster: the document lives in the cluster
 * database (`documents`, name 'escontrol', with a version), every node follows it within a
 * second and keeps a copy in its own escontrol file (which is what `edit` overrides are read
 * from at the next start). At the first start the node's file is imported when the cluster
 * has no document yet.
 */
import type { Clock, Timer } from '../clock.js';
import { errorMessage } from '../errors.js';
import { writeFileAtomic } from '../state/atomic-file.js';
import { EscontrolStore, parseStoreText, serializeStore, type EscontrolState, type EscontrolStoreOptions } from '../escontrol/overrides-store.js';
import type { LeaseDatabase } from './leader-lease.js';

const DOCUMENT = 'escontrol';

export class ClusterEscontrolStore extends EscontrolStore {
  override readonly name = 'cluster escontrol store';
  private version = -1;
  private timer: Timer | undefined;
  private running = false;
  private writing: Promise<void> = Promise.resolve();
  private failing = false;

  constructor(
    options: EscontrolStoreOptions,
    private readonly db: LeaseDatabase,
    private readonly nodeId: string,
    private readonly clock: Clock,
    private readonly pollMs = 1000,
  ) {
    super(options);
  }

  override async start(): Promise<void> {
    this.load();
    this.running = true;
    const found = await this.read();
    if (found === undefined) {
      await this.db.execute('INSERT IGNORE INTO documents (name, body, version, updated_by) VALUES (?, ?, 1, ?)', [DOCUMENT, serializeStore(this.current), this.nodeId]);
      await this.poll();
    } else this.follow(found);
    this.schedule();
  }

  override async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    await this.writing;
  }

  /** This node's admin command: the local file at once, then the shared document. */
  override replace(next: EscontrolState): void {
    super.replace(next);
    const body = serializeStore(next);
    this.writing = this.writing.then(async () => {
      try {
        await this.db.execute(
          'INSERT INTO documents (name, body, version, updated_by) VALUES (?, ?, 1, ?) ON DUPLICATE KEY UPDATE body = VALUES(body), version = version + 1, updated_by = VALUES(updated_by)',
          [DOCUMENT, body, this.nodeId],
          { idempotent: true },
        );
        await this.poll();
      } catch (err) {
        this.options.log.error(`escontrol: the change is kept on this node but could not be shared through the cluster database (${errorMessage(err)})`);
      }
    });
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => void this.poll().finally(() => this.schedule()), this.pollMs);
  }

  private async poll(): Promise<void> {
    try {
      const found = await this.read();
      if (found !== undefined) this.follow(found);
      if (this.failing) this.options.log.info('escontrol: the cluster database answers again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.options.log.warn(`escontrol: cannot read the shared overrides (${errorMessage(err)}); keeping the last ones`);
      this.failing = true;
    }
  }

  private async read(): Promise<{ body: string; version: number } | undefined> {
    const [row] = await this.db.query('SELECT body, version FROM documents WHERE name = ?', [DOCUMENT], (r) => {
      const row = r as { body: unknown; version: unknown };
      return { body: String(row.body), version: Number(row.version) };
    });
    return row;
  }

  private follow(found: { body: string; version: number }): void {
    if (found.version === this.version) return;
    const parsed = parseStoreText(found.body);
    this.version = found.version;
    if (!parsed.ok) {
      this.options.log.error(`escontrol: the shared overrides (version ${found.version}) are unusable (${parsed.error}); keeping the last ones`);
      return;
    }
    this.current = parsed.state;
    try {
      writeFileAtomic(this.path, serializeStore(parsed.state));
    } catch (err) {
      this.options.log.warn(`escontrol: cannot keep a copy in ${this.path} (${errorMessage(err)})`);
    }
  }
}
