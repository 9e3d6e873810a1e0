CREATE TABLE IF NOT EXISTS {table} (
    id TEXT PRIMARY KEY NOT NULL,   -- SessionId::to_text
    forward INTEGER NOT NULL,       -- 1: `data` is a sealed forward (after cycle_id), not a record
    data BLOB NOT NULL,             -- sealed: nothing here is readable without the key
    expires_at INTEGER NOT NULL,    -- unix seconds
    owner TEXT,                     -- the owner index (sessions::owner): Owner::to_text, or NULL
    summary BLOB                    -- sealed: what a listing of the owner's sessions shows
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {table}_expires_at ON {table} (expires_at);
CREATE INDEX IF NOT EXISTS {table}_owner ON {table} (owner);
-- Revocations of cookie sessions (CookieStore::with_revocations):
CREATE TABLE IF NOT EXISTS {table}_revocations (
    owner TEXT PRIMARY KEY NOT NULL,  -- Owner::to_text
    mark INTEGER NOT NULL,            -- the owner's revocation mark (microseconds)
    until INTEGER NOT NULL            -- unix seconds: when the row may go
) WITHOUT ROWID;
