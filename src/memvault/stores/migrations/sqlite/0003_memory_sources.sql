-- Which memories cite which (the `sources` JSON array as rows), kept by triggers so every
-- write path (add, update, import, migrate, restore, erasure) maintains it. Searches ask
-- "is this message stale evidence?" and erasure asks "what was derived from these?":
-- with this table both are index seeks instead of a json_each scan of the scope.
CREATE TABLE memory_sources (
    source_id    TEXT NOT NULL,
    memory_rowid INTEGER NOT NULL,
    PRIMARY KEY (source_id, memory_rowid)
) WITHOUT ROWID;

CREATE INDEX ix_memory_sources_memory ON memory_sources (memory_rowid);

INSERT OR IGNORE INTO memory_sources (source_id, memory_rowid)
SELECT j.value, m.rowid FROM memories m, json_each(m.sources) j WHERE m.sources != '[]';

CREATE TRIGGER tr_memory_sources_insert AFTER INSERT ON memories
WHEN NEW.sources != '[]'
BEGIN
    INSERT OR IGNORE INTO memory_sources (source_id, memory_rowid)
    SELECT j.value, NEW.rowid FROM json_each(NEW.sources) j;
END;

CREATE TRIGGER tr_memory_sources_update AFTER UPDATE OF sources ON memories
BEGIN
    DELETE FROM memory_sources WHERE memory_rowid = OLD.rowid;
    INSERT OR IGNORE INTO memory_sources (source_id, memory_rowid)
    SELECT j.value, NEW.rowid FROM json_each(NEW.sources) j;
END;

CREATE TRIGGER tr_memory_sources_delete AFTER DELETE ON memories
BEGIN
    DELETE FROM memory_sources WHERE memory_rowid = OLD.rowid;
END;
