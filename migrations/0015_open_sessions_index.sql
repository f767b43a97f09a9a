-- Why: opening an MCP session ends the identity's open sessions beyond its limit, and revoking
-- a participant's tokens ends its sessions; both look up one participation's open sessions.
-- Only the primary key (project_id, id) served them, so each read every session of the project,
-- closed ones included (kept for days). This index holds the open ones per participation.

CREATE INDEX mcp_sessions_open_idx
  ON mcp_sessions (project_id, participation_id, last_seen_at DESC)
  WHERE closed_at IS NULL;
