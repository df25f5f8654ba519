// One enqueue the way a git hook makes it: open the database, write one job, close it.
import path from 'node:path';

import { DATABASE_FILE, enqueueJob } from '../../dist/index.js';
import { ENQUEUE_BUSY_TIMEOUT_MS } from '../../dist/queue/enqueue.js';
import { RawQueue, openRawDatabase } from './raw-queue.mjs';

/**
 * Enqueues `job` in the database of `dataDir`: through stepper's enqueueJob, or through
 * a raw connection with the same busy timeout (1.5 s), pragmas and statements.
 * Returns 'spooled' when stepper wrote the job to the spool folder, else 'stored'.
 * The raw side has no spool, so it throws where stepper would spool.
 */
export function enqueueOnce(side, dataDir, job) {
  if (side === 'stepper') {
    return enqueueJob(job, { dataDir }).spooled ? 'spooled' : 'stored';
  }

  const db = openRawDatabase(path.join(dataDir, DATABASE_FILE), ENQUEUE_BUSY_TIMEOUT_MS);
  try {
    new RawQueue(db).add(job);
    return 'stored';
  } finally {
    db.close();
  }
}
