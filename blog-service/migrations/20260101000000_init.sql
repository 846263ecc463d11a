-- blog-service schema (spec 3.2 fields; D14 SQLite backend).
-- `seq` gives FTS5 an integer rowid; `id` is the 24-hex ObjectId used on the wire.
CREATE TABLE IF NOT EXISTS blogs (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    title        TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    text         TEXT,
    draft_text   TEXT    NOT NULL,
    tags         TEXT    NOT NULL,
    author       TEXT    NOT NULL,
    img_url      TEXT,
    slug         TEXT    NOT NULL UNIQUE,
    score        REAL    NOT NULL,
    submitted    INTEGER NOT NULL,
    drafted      INTEGER NOT NULL,
    published    INTEGER NOT NULL,
    status       INTEGER NOT NULL,
    published_at INTEGER,
    created_by   TEXT    NOT NULL,
    updated_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS blogs_public ON blogs (published, status, updated_at DESC, score DESC);
CREATE INDEX IF NOT EXISTS blogs_author ON blogs (author, status);

-- Similar blogs: title weight 3, description weight 1 (bm25 weights in the query).
CREATE VIRTUAL TABLE IF NOT EXISTS blogs_fts USING fts5(
    title, description, content = 'blogs', content_rowid = 'seq', tokenize = 'porter unicode61'
);

CREATE TRIGGER IF NOT EXISTS blogs_fts_insert AFTER INSERT ON blogs BEGIN
    INSERT INTO blogs_fts (rowid, title, description) VALUES (new.seq, new.title, new.description);
END;

CREATE TRIGGER IF NOT EXISTS blogs_fts_delete AFTER DELETE ON blogs BEGIN
    INSERT INTO blogs_fts (blogs_fts, rowid, title, description)
    VALUES ('delete', old.seq, old.title, old.description);
END;

CREATE TRIGGER IF NOT EXISTS blogs_fts_update AFTER UPDATE OF title, description ON blogs BEGIN
    INSERT INTO blogs_fts (blogs_fts, rowid, title, description)
    VALUES ('delete', old.seq, old.title, old.description);
    INSERT INTO blogs_fts (rowid, title, description) VALUES (new.seq, new.title, new.description);
END;
