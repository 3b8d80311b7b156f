-- Files: one row per stored file, its owner's running total against the
-- quota, the uploads signed for browsers but not yet completed, and share
-- links. A file's storage key is made by the server (u/<user id>/<random>);
-- the name the user gave is kept for display only. A deleted file keeps its
-- row, and its bytes count against the quota, until the purge job removes
-- both once the undo window has passed.
CREATE TABLE files (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    storage_key   TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL CHECK (name <> '' AND length(name) <= 255),
    folder        TEXT NOT NULL DEFAULT '' CHECK (length(folder) <= 255),
    size          BIGINT NOT NULL CHECK (size > 0),
    content_type  TEXT NOT NULL,
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    width         BIGINT NOT NULL DEFAULT 0 CHECK (width >= 0),
    height        BIGINT NOT NULL DEFAULT 0 CHECK (height >= 0),
    thumbnail_key TEXT UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL,
    deleted_at    TIMESTAMPTZ
);

CREATE INDEX files_user ON files (user_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX files_deleted ON files (deleted_at) WHERE deleted_at IS NOT NULL;

-- bytes is the sum of the user's files' sizes (thumbnails aside), moved in
-- the same transaction as each row, so that one guarded UPDATE enforces
-- the quota under concurrent uploads.
CREATE TABLE file_usage (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    bytes   BIGINT NOT NULL CHECK (bytes >= 0)
);

-- A presigned upload: the key the server chose and what it allowed. The
-- completion call names only the upload's id, so a client can never make a
-- record of a key it was not given.
CREATE TABLE file_uploads (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    storage_key  TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    folder       TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL,
    max_size     BIGINT NOT NULL CHECK (max_size > 0),
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX file_uploads_expires ON file_uploads (expires_at);

-- A share link: only the token's SHA-256 is stored.
CREATE TABLE file_shares (
    id         TEXT PRIMARY KEY,
    file_id    TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

CREATE INDEX file_shares_file ON file_shares (file_id);
