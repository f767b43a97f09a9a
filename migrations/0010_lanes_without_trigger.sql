-- Why: a table distributed by project (Citus) cannot carry a trigger, and participations is one.
-- The lanes a project has ever used are now recorded by the statements that set a lane
-- (src/db/identity.ts, src/db/presence.ts), in the same statement, so the trigger goes. The
-- backfill catches any lane set by a process that still relied on the trigger while this
-- migration ran; it adds nothing on a database whose trigger did its work.

DROP TRIGGER participations_remember_lane ON participations;
DROP FUNCTION remember_lane();

INSERT INTO lanes (project_id, name)
SELECT DISTINCT project_id, lane FROM participations WHERE lane IS NOT NULL
ON CONFLICT DO NOTHING;
