-- Why: events_task_idx (0006) duplicates events_task_seq_idx (0004): the same columns and the
-- same condition. Every ledger append paid for both; one is enough.

DROP INDEX events_task_idx;
