-- memvault schema v3 (PostgreSQL only): a keyword index the planner can use under
-- Row-Level Security, and per-scope row counts. See docs/postgres.md, "Keyword search".
--
-- Why: with RLS on `memories`, PostgreSQL only uses an index for quals whose operators are
-- leakproof, and no GIN operator is (`@@` included), so `memories.tsv @@ q` was evaluated
-- row by row over the whole scope: 0.6 s for a 1M-memory tenant. `keyword_index` holds one
-- row per memory with a non-empty tsvector, WITHOUT RLS, so its GIN index is usable; its
-- lexemes are hashed (`h` + 15 hex digits of md5(lexeme), positions kept, so ts_rank_cd
-- gives the same scores; md5 of a word is dictionary-reversible: it is no encryption).
-- The store only reads it joined to `memories`, where RLS and the scope clause apply. Kept by a trigger; a tombstone (empty
-- tsvector) has no row; deleting a memory cascades.
SELECT set_config('memvault.tenant', '*', true);  -- the backfills below read every tenant

CREATE FUNCTION memvault_hashed_tsv(t tsvector) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT COALESCE(string_agg('h' || left(md5(u.lexeme), 15)
                               || CASE WHEN cardinality(u.positions) = 0 THEN ''
                                  ELSE ':' || array_to_string(u.positions, ',') END, ' '),
                    '')::tsvector
    FROM unnest(t) AS u
$$;

-- the OR of the terms' lexemes (as to_tsvector('simple', term) writes them), hashed
CREATE FUNCTION memvault_hashed_query(terms text[]) RETURNS tsquery
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT COALESCE(string_agg(DISTINCT '''h' || left(md5(l.x), 15) || '''', ' | '), '')::tsquery
    FROM unnest(terms) AS u (t)
    CROSS JOIN LATERAL unnest(tsvector_to_array(to_tsvector('simple', u.t))) AS l (x)
$$;

CREATE TABLE keyword_index (
    memory_id text COLLATE "C" PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
    tenant    text NOT NULL,
    tsv       tsvector NOT NULL
);
ALTER TABLE keyword_index SET (autovacuum_vacuum_scale_factor = 0.02,
                               autovacuum_analyze_scale_factor = 0.02);

INSERT INTO keyword_index (memory_id, tenant, tsv)
    SELECT id, tenant, memvault_hashed_tsv(tsv) FROM memories WHERE tsv <> ''::tsvector;
CREATE INDEX ix_keyword_index_tsv ON keyword_index USING gin (tsv);
-- unusable under RLS (see above): keyword_index's GIN index replaces it
DROP INDEX ix_memories_tsv;

CREATE FUNCTION memvault_keyword_index() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.tsv IS NOT DISTINCT FROM NEW.tsv AND OLD.tenant = NEW.tenant THEN
            RETURN NULL;
        END IF;
        DELETE FROM keyword_index WHERE memory_id = OLD.id;
    END IF;
    IF NEW.tsv <> ''::tsvector THEN
        INSERT INTO keyword_index (memory_id, tenant, tsv)
            VALUES (NEW.id, NEW.tenant, memvault_hashed_tsv(NEW.tsv));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER memories_keyword_index AFTER INSERT OR UPDATE OF tsv, tenant ON memories
    FOR EACH ROW EXECUTE FUNCTION memvault_keyword_index();

-- rows per (tenant, owner), every status: `s` the tenant's shared rows (no user),
-- `u:<user_id>` a user's, `t` the tenant's total. The store reads a scope's size here (one
-- indexed lookup) to choose between search strategies (docs/postgres.md). Kept exact by
-- statement triggers, one upsert per (tenant, owner) a statement touches.
CREATE TABLE scope_rows (
    tenant text NOT NULL,
    owner  text NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (tenant, owner)
) WITH (fillfactor = 80);
ALTER TABLE scope_rows ENABLE ROW LEVEL SECURITY;
ALTER TABLE scope_rows FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON scope_rows
    USING (tenant = current_setting('memvault.tenant', true)
           OR current_setting('memvault.tenant', true) = '*')
    WITH CHECK (tenant = current_setting('memvault.tenant', true)
                OR current_setting('memvault.tenant', true) = '*');

CREATE FUNCTION memvault_owner_key(user_id text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN user_id IS NULL THEN 's' ELSE 'u:' || user_id END
$$;

INSERT INTO scope_rows (tenant, owner, n)
    SELECT tenant, memvault_owner_key(user_id), count(*) FROM memories GROUP BY 1, 2
    UNION ALL SELECT tenant, 't', count(*) FROM memories GROUP BY 1;

-- adds sign * (rows of `changed`) per (tenant, owner) and per tenant
CREATE FUNCTION memvault_scope_rows_add(changed jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO scope_rows AS s (tenant, owner, n)
        SELECT c.tenant, c.owner, sum(c.n) FROM (
            SELECT r ->> 'tenant' AS tenant, r ->> 'owner' AS owner, (r ->> 'n')::bigint AS n
            FROM jsonb_array_elements(changed) r
            UNION ALL
            SELECT r ->> 'tenant', 't', (r ->> 'n')::bigint FROM jsonb_array_elements(changed) r
        ) c GROUP BY 1, 2
        ON CONFLICT (tenant, owner) DO UPDATE SET n = s.n + EXCLUDED.n
$$;

CREATE FUNCTION memvault_scope_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(g) INTO changed FROM (
            SELECT tenant, memvault_owner_key(user_id) AS owner, count(*) AS n
            FROM new_rows GROUP BY 1, 2) g;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(g) INTO changed FROM (
            SELECT tenant, memvault_owner_key(user_id) AS owner, -count(*) AS n
            FROM old_rows GROUP BY 1, 2) g;
    ELSE  -- only rows whose tenant or user changed (memvault does not move rows today)
        SELECT jsonb_agg(g) INTO changed FROM (
            SELECT x.tenant, x.owner, sum(x.n) AS n FROM (
                SELECT o.tenant, memvault_owner_key(o.user_id) AS owner, -1 AS n
                FROM old_rows o JOIN new_rows w ON w.id = o.id
                WHERE (o.tenant, o.user_id) IS DISTINCT FROM (w.tenant, w.user_id)
                UNION ALL
                SELECT w.tenant, memvault_owner_key(w.user_id), 1
                FROM old_rows o JOIN new_rows w ON w.id = o.id
                WHERE (o.tenant, o.user_id) IS DISTINCT FROM (w.tenant, w.user_id)
            ) x GROUP BY 1, 2) g;
    END IF;
    IF changed IS NOT NULL THEN
        PERFORM memvault_scope_rows_add(changed);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER memories_scope_rows_insert AFTER INSERT ON memories
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION memvault_scope_rows();
CREATE TRIGGER memories_scope_rows_delete AFTER DELETE ON memories
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION memvault_scope_rows();
CREATE TRIGGER memories_scope_rows_update AFTER UPDATE ON memories
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION memvault_scope_rows();
