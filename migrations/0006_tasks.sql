-- Why: the task graph. Agents pull ready work; every transition is one transaction that locks the
-- task row, so two agents never both start one task, and a task claimed by an agent that went
-- silent returns to the pool.

CREATE TABLE tasks (
  project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  id bigint GENERATED ALWAYS AS IDENTITY,
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  detail text CHECK (length(detail) <= 16000),
  lane text CHECK (lane ~ '^[a-z0-9._-]{1,64}$'),
  status text NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'assigned', 'in_progress', 'blocked', 'done', 'cancelled')),
  -- the assignee; no foreign key, so deleting a participant leaves its tasks (and history) intact
  owner_participation_id bigint,
  parent_id bigint,
  created_by text NOT NULL,
  created_by_participation_id bigint,
  idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  -- set by task_claim_next: the task is held only while its holder stays active this long
  hold_seconds integer CHECK (hold_seconds BETWEEN 30 AND 86400),
  started_at timestamptz,
  ref text CHECK (length(ref) <= 500),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, id),
  FOREIGN KEY (project_id, parent_id) REFERENCES tasks (project_id, id)
);
CREATE UNIQUE INDEX tasks_idempotency_key ON tasks (project_id, created_by_participation_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
-- task_claim_next and list_tasks(ready_only) scan candidates oldest first
CREATE INDEX tasks_pending_idx ON tasks (project_id, id) WHERE status IN ('open', 'assigned');
CREATE INDEX tasks_status_idx ON tasks (project_id, status, id);
CREATE INDEX tasks_owner_idx ON tasks (project_id, owner_participation_id, id);

CREATE TABLE task_deps (
  project_id bigint NOT NULL,
  task_id bigint NOT NULL,
  depends_on bigint NOT NULL CHECK (depends_on <> task_id),
  PRIMARY KEY (project_id, task_id, depends_on),
  FOREIGN KEY (project_id, task_id) REFERENCES tasks (project_id, id) ON DELETE CASCADE,
  FOREIGN KEY (project_id, depends_on) REFERENCES tasks (project_id, id) ON DELETE CASCADE
);
CREATE INDEX task_deps_reverse_idx ON task_deps (project_id, depends_on);

CREATE TABLE task_blockers (
  project_id bigint NOT NULL,
  id bigint GENERATED ALWAYS AS IDENTITY,
  task_id bigint NOT NULL,
  -- the task this one waits for; null for a blocker with only a reason
  on_task_id bigint,
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  resolved_at timestamptz,
  resolved_by text,
  PRIMARY KEY (project_id, id),
  CHECK (on_task_id IS NULL OR on_task_id <> task_id),
  FOREIGN KEY (project_id, task_id) REFERENCES tasks (project_id, id) ON DELETE CASCADE,
  FOREIGN KEY (project_id, on_task_id) REFERENCES tasks (project_id, id) ON DELETE CASCADE
);
CREATE INDEX task_blockers_open_idx ON task_blockers (project_id, task_id) WHERE resolved_at IS NULL;
CREATE INDEX task_blockers_on_idx ON task_blockers (project_id, on_task_id)
  WHERE resolved_at IS NULL AND on_task_id IS NOT NULL;

-- task_get reads a task's history from the ledger
CREATE INDEX events_task_idx ON events (project_id, task_id, seq) WHERE task_id IS NOT NULL;
