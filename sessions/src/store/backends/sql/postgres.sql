CREATE TABLE IF NOT EXISTS {table} (
    id TEXT PRIMARY KEY,            -- SessionId::to_text
    forward BOOLEAN NOT NULL,       -- `data` is a sealed forward (after cycle_id), not a record
    data BYTEA NOT NULL,            -- sealed: nothing here is readable without the key
    expires_at BIGINT NOT NULL      -- unix seconds
);
-- The owner index (sessions::owner), added to tables made before it:
ALTER TABLE {table} ADD COLUMN IF NOT EXISTS owner TEXT;     -- Owner::to_text, or NULL
ALTER TABLE {table} ADD COLUMN IF NOT EXISTS summary BYTEA;  -- sealed: what a listing shows
CREATE INDEX IF NOT EXISTS {table}_expires_at ON {table} (expires_at);
CREATE INDEX IF NOT EXISTS {table}_owner ON {table} (owner);
-- Revocations of cookie sessions (CookieStore::with_revocations):
CREATE TABLE IF NOT EXISTS {table}_revocations (
    owner TEXT PRIMARY KEY,         -- Owner::to_text
    mark BIGINT NOT NULL,           -- the owner's revocation mark (microseconds)
    until BIGINT NOT NULL           -- unix seconds: when the row may go
);
