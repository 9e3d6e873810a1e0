CREATE TABLE IF NOT EXISTS {table} (
    id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,  -- SessionId::to_text
    forward BOOLEAN NOT NULL,       -- `data` is a sealed forward (after cycle_id), not a record
    data LONGBLOB NOT NULL,         -- sealed: nothing here is readable without the key
    expires_at BIGINT NOT NULL,     -- unix seconds
    owner VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin,  -- the owner index: Owner::to_text, or NULL
    summary BLOB,                   -- sealed: what a listing of the owner's sessions shows
    INDEX {table}_expires_at (expires_at),
    INDEX {table}_owner (owner)
) ENGINE = InnoDB;
-- Revocations of cookie sessions (CookieStore::with_revocations):
CREATE TABLE IF NOT EXISTS {table}_revocations (
    owner VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,  -- Owner::to_text
    mark BIGINT NOT NULL,           -- the owner's revocation mark (microseconds)
    until BIGINT NOT NULL           -- unix seconds: when the row may go
) ENGINE = InnoDB;
