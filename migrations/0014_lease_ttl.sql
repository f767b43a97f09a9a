-- Why: a heartbeat is "lease it again". Without the lease's own TTL on record, a renewal that
-- gives no ttl_seconds fell back to the default and turned a 5 s lease into a 900 s one. Each
-- lease now keeps the TTL it was granted (or last renewed) with, and a renewal without one keeps
-- it. Existing leases get the default they were most likely granted with.

ALTER TABLE leases
  ADD COLUMN ttl_seconds integer NOT NULL DEFAULT 900 CHECK (ttl_seconds > 0);
