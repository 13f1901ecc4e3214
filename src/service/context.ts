/** What every service operation needs: configuration, the stores, the embedder, the job runner, a logger. */
import type { DoctorConfig } from '../config/config.js';
import type { Embedder } from '../embed/embedder.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';

/** Runs crawl jobs: what the service layer needs of a job runner (src/ingest/job-runner.ts is one). */
export interface JobRunnerPort {
  /** Writes the job row, queues it, and returns at once. */
  submit(job: import('../store/jobs.js').NewJob): Promise<void>;
  /** Cancels a pending or running job (`reason`: what its row says, default "cancelled by request"); false when it already finished. */
  cancel(jobId: string, reason?: string): Promise<boolean>;
  /** Whether this process runs or has queued this job (a command without a server leaves earlier jobs alone). */
  runs?(jobId: string): boolean;
  /** Crawl jobs running in this process right now (a re-embedding switches models only when none is). */
  activeJobs?(): number;
  /** Subscribes to progress of one job; returns an unsubscribe function. */
  onProgress?(jobId: string, fn: (job: import('../store/jobs.js').JobRecord) => void): () => void;
  /** Subscribes to progress of every job; returns an unsubscribe function. */
  onAnyProgress?(fn: (job: import('../store/jobs.js').JobRecord) => void): () => void;
  /**
   * The job as this process ended it, when that could not be written to the database (a full disk: the row
   * still says running); else the job as given.
   */
  asEnded?(job: import('../store/jobs.js').JobRecord): import('../store/jobs.js').JobRecord;
  /** Interrupts the running jobs (they resume at the next start); the app's close calls it before the database closes. */
  stop?(): Promise<void>;
}

/** Remote crawl workers (`doctor serve --redis`): who is connected and how fast each works. */
export interface WorkerRegistryPort {
  workers(): Promise<import('../ingest/remote/protocol.js').WorkerInfo[]>;
}

export interface DoctorContext {
  config: DoctorConfig;
  store: Store;
  embedder: Embedder;
  log: Logger;
  jobs?: JobRunnerPort;
  /** Set when crawls run on remote workers through Redis. */
  remote?: WorkerRegistryPort;
}
