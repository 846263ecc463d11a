-- auth-service schema: the SQLite form of gomicro's auth collections (spec 3.1).
-- Ids are 24-hex ObjectId-shaped strings; times are milliseconds since the epoch (UTC).
-- IF NOT EXISTS: replicas starting together on one file may race to apply this.

CREATE TABLE IF NOT EXISTS api_keys (
    id          TEXT PRIMARY KEY NOT NULL,
    key         TEXT NOT NULL UNIQUE,
    version     INTEGER NOT NULL DEFAULT 1,
    permissions TEXT NOT NULL DEFAULT '[]',
    comments    TEXT NOT NULL DEFAULT '[]',
    status      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS roles (
    id         TEXT PRIMARY KEY NOT NULL,
    code       TEXT NOT NULL UNIQUE,
    status     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    password        TEXT,
    profile_pic_url TEXT,
    roles           TEXT NOT NULL DEFAULT '[]', -- JSON array of role ids, in order
    verified        INTEGER NOT NULL DEFAULT 0,
    status          INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS users_email_status ON users (email, status);

CREATE TABLE IF NOT EXISTS keystores (
    id         TEXT PRIMARY KEY NOT NULL,
    client     TEXT NOT NULL,
    p_key      TEXT NOT NULL,
    s_key      TEXT NOT NULL,
    status     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS keystores_client_pkey_status ON keystores (client, p_key, status);
CREATE INDEX IF NOT EXISTS keystores_client_pkey_skey_status ON keystores (client, p_key, s_key, status);
