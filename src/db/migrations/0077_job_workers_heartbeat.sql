-- Which process runs which pg-boss job (platform/jobs.ts). A process killed in the middle of a job (kill -9, the OOM
-- killer, a lost node) leaves the job `active`, and pg-boss takes it back only after its expiry, five minutes: a
-- paid-for voucher mail or parcel waited that long after a crash (docs/reliability.md R6). Every working process
-- now beats here every few seconds and records the jobs it runs; any instance fails the jobs of a process whose beat
-- stopped, and pg-boss retries them at once.
CREATE TABLE job_workers (
  id       uuid PRIMARY KEY,
  beat_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE job_runs (
  job_id      uuid PRIMARY KEY,
  queue       text NOT NULL,
  worker_id   uuid NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now()
);
-- No foreign key to job_workers: a worker's row may be reaped while its run rows are still being claimed.
CREATE INDEX job_runs_worker_idx ON job_runs (worker_id);
