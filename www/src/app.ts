// The app's state: the signed-in session, the package's synced `Client` (every number on
// every screen comes from it), the provider keys and audit log read from the backend, and a
// sync loop that follows the server and notices when it goes away and comes back.

import { Client, type Balance, type Catalogue, type ClientStatus, type Model, type Provider, type ScenarioResult } from 'ai-credits';
import { Api, errorCode, type AuditEntry, type KeyView, type Session } from './api';

/** How often the copy is synced with the server. */
const SYNC_INTERVAL_MS = 3_000;
/** Most pages of 1,000 entries read for one cycle's chart. */
const CYCLE_PAGES_MAX = 20;

export class App {
  readonly api: Api;
  keys: KeyView[] = [];
  audit: AuditEntry[] = [];
  /** Whether the last request reached the server. */
  online = true;
  /** Listeners of the screen on show, dropped when another screen replaces it. */
  private listeners: Array<() => void> = [];
  /** Listeners for the app's lifetime (the header's badge). */
  private globalListeners: Array<() => void> = [];
  private syncing = false;
  /** Whether a screen shows the key rows and audit log, so syncs refresh them. */
  private keysOnScreen = false;

  readonly models: Model[];
  readonly providers: Provider[];

  constructor(
    readonly session: Session,
    readonly client: Client,
    readonly catalogue: Catalogue,
  ) {
    this.api = new Api(session);
    this.models = catalogue.models();
    this.providers = catalogue.providers();
  }

  static async start(session: Session): Promise<App> {
    const client = await Client.connect({ base_url: '', account_id: session.account_id, token: session.token });
    const app = new App(session, client, client.catalogue());
    app.online = client.status.online;
    setInterval(() => void app.sync(), SYNC_INTERVAL_MS);
    window.addEventListener('online', () => void app.sync());
    return app;
  }

  get isAdmin(): boolean {
    return this.session.role === 'admin';
  }

  get status(): ClientStatus {
    return this.client.status;
  }

  balance(): Balance {
    return this.client.balance();
  }

  private cachedReport: ScenarioResult | null = null;

  /**
   * The report of the synced copy (the entries it knows, packs, this cycle's breakdowns), built
   * once per change: several panels read it.
   */
  report(): ScenarioResult {
    this.cachedReport ??= this.client.report();
    return this.cachedReport;
  }

  /** The cycle whose entries `loadCycleEntries` has read. */
  private cycleRead: string | null = null;
  /** Whether `loadCycleEntries` is reading. */
  cycleReading = false;

  /**
   * Reads older entries page by page until every entry of this cycle is known (the daily chart
   * draws them; the synced copy starts from a checkpoint and holds only recent ones). Offline,
   * the chart shows what was read.
   */
  async loadCycleEntries(): Promise<void> {
    const start = this.balance().cycle.start;
    if (this.cycleRead === start || this.cycleReading) return;
    this.cycleReading = true;
    this.changed();
    try {
      for (let page = 0; page < CYCLE_PAGES_MAX; page += 1) {
        const known = this.client.entries();
        if (known.length > 0 && known[0].at < start) break;
        const read = await this.client.entriesPage({ limit: 1000 });
        if (read.before === null) break;
      }
      this.cycleRead = start;
    } catch (e) {
      console.warn(`ai-credits: older entries could not be read (${errorCode(e)})`, e);
    } finally {
      this.cycleReading = false;
    }
    this.changed();
  }

  /** Calls `fn` after every change of the synced state or of the connection, while the current screen shows. */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** Like `onChange`, for the app's lifetime. */
  onAnyChange(fn: () => void): void {
    this.globalListeners.push(fn);
  }

  /** Forgets the listeners of the screen that was on show. */
  leaveScreen(): void {
    this.listeners = [];
    this.keysOnScreen = false;
  }

  /** For the screen on show: reads the key rows and audit log now and after every sync that brings events. */
  showKeys(): void {
    this.keysOnScreen = true;
    this.loadKeys()
      .then(() => this.changed())
      .catch((e: unknown) => console.warn(`ai-credits: the keys could not be read (${errorCode(e)})`, e));
  }

  changed(): void {
    this.cachedReport = null;
    for (const fn of [...this.globalListeners, ...this.listeners]) fn();
  }

  /** Follows the server; tells the screens when anything changed, online state included. */
  async sync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const status = await this.client.sync();
      const cameBack = status.online && !this.online;
      const changed = status.new_events > 0 || status.online !== this.online;
      this.online = status.online;
      if (this.keysOnScreen && (cameBack || status.new_events > 0)) await this.loadKeys();
      if (changed) this.changed();
    } catch (e) {
      // `sync` itself never rejects for the network; anything else (a revoked token, a
      // diverged copy) is kept for the console, and the next tick tries again.
      console.warn(`ai-credits: sync failed (${errorCode(e)})`, e);
    } finally {
      this.syncing = false;
    }
  }

  /** Reads the key rows and the audit log (administrators only); keeps the old ones offline. */
  async loadKeys(): Promise<void> {
    if (!this.isAdmin) return;
    try {
      const [keys, audit] = await Promise.all([this.api.keys(), this.api.audit()]);
      this.keys = keys.keys;
      this.audit = audit.entries;
    } catch (e) {
      if (errorCode(e) === 'offline') this.online = false;
      else throw e;
    }
  }

  /** After an action the server accepted: sync, then redraw. */
  async afterWrite(): Promise<void> {
    await this.sync();
    // The write may be audited (a model change): the log on show is read again.
    if (this.keysOnScreen) {
      await this.loadKeys().catch((e: unknown) => console.warn(`ai-credits: the keys could not be read (${errorCode(e)})`, e));
    }
    this.changed();
  }

  /** The display name of a model id. */
  modelName(id: string): string {
    return this.models.find((m) => m.id === id)?.name ?? id;
  }

  providerName(id: string): string {
    return this.providers.find((p) => p.id === id)?.name ?? id;
  }
}
