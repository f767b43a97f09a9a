-- Why: the owner takes part in a project from the web pages (the inbox) as a human participant
-- of their own (spec §9). Which participant that is must survive a rename on the participants
-- page, and must not be guessed from a label an agent could already use, so it is marked: at
-- most one participant per owner is the owner's self, created on first use
-- (src/access/self.ts) and granted into each project the owner opens the inbox of.

ALTER TABLE participants ADD COLUMN owner_self boolean NOT NULL DEFAULT false
  CONSTRAINT participants_owner_self_human CHECK (NOT owner_self OR kind = 'human');

CREATE UNIQUE INDEX participants_owner_self_idx ON participants (owner_id) WHERE owner_self;
