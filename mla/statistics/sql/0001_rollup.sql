-- Counts change in place: room on each page for the new version of a row, so that an update
-- touches no index (HOT). All three are vacuumed early, so that their index-only scans do not
-- fall back to reading the table for the pages changed since.
ALTER TABLE mla_requests_stats_requests SET (
    fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_insert_scale_factor = 0.02
);
ALTER TABLE mla_requests_stats_deadlines SET (
    fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_insert_scale_factor = 0.02
);
ALTER TABLE mla_requests_stats_durations SET (
    autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.02
);

CREATE FUNCTION mla_stats_on() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT current_setting('mla.statistics_rollup', true) IS DISTINCT FROM 'off'
$$;

-- The UTC day of the instant the period counts from; 0001-01-01 without one.
CREATE FUNCTION mla_stats_day(instant timestamptz) RETURNS date LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE((instant AT TIME ZONE 'UTC')::date, DATE '0001-01-01')
$$;

CREATE FUNCTION mla_stats_owner(direction varchar, issuing bigint, executing bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE direction WHEN 'incoming' THEN executing WHEN 'outgoing' THEN issuing END
$$;

CREATE FUNCTION mla_stats_instant(direction varchar, created timestamptz, received timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE direction WHEN 'incoming' THEN received ELSE created END
$$;

CREATE FUNCTION mla_stats_lock_deadlines(request bigint, exclusive boolean)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- 1835819379: this lock's class ('mlas'); the request id folded into an int4.
    IF exclusive THEN
        PERFORM pg_advisory_xact_lock(1835819379, (request % 2147483647)::int4);
    ELSE
        PERFORM pg_advisory_xact_lock_shared(1835819379, (request % 2147483647)::int4);
    END IF;
END $$;

CREATE FUNCTION mla_stats_bump_request(
    p_authority bigint, p_offence varchar, p_direction varchar, p_day date,
    p_declaration varchar, p_issuing_country varchar, p_executing_country bigint,
    p_state varchar, p_ground varchar, p_followed_up boolean, p_delta integer
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mla_requests_stats_requests SET n = n + p_delta
    WHERE id = (
        SELECT id FROM mla_requests_stats_requests
        WHERE authority_id = p_authority AND offence = p_offence AND direction = p_direction
          AND day = p_day AND declaration_code = p_declaration
          AND issuing_country_code = p_issuing_country
          AND executing_country_id = p_executing_country AND state = p_state
          AND outcome_ground = p_ground AND followed_up = p_followed_up
        LIMIT 1 FOR UPDATE SKIP LOCKED
    );
    IF NOT FOUND THEN
        INSERT INTO mla_requests_stats_requests (
            authority_id, offence, direction, day, declaration_code, issuing_country_code,
            executing_country_id, state, outcome_ground, followed_up, n
        ) VALUES (
            p_authority, p_offence, p_direction, p_day, p_declaration, p_issuing_country,
            p_executing_country, p_state, p_ground, p_followed_up, p_delta
        );
    END IF;
END $$;

CREATE FUNCTION mla_stats_bump_deadline(
    p_authority bigint, p_offence varchar, p_direction varchar, p_day date,
    p_declaration varchar, p_code varchar, p_state varchar, p_late boolean, p_delta integer
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE mla_requests_stats_deadlines SET n = n + p_delta
    WHERE id = (
        SELECT id FROM mla_requests_stats_deadlines
        WHERE authority_id = p_authority AND offence = p_offence AND direction = p_direction
          AND day = p_day AND declaration_code = p_declaration AND code = p_code
          AND state = p_state AND late = p_late
        LIMIT 1 FOR UPDATE SKIP LOCKED
    );
    IF NOT FOUND THEN
        INSERT INTO mla_requests_stats_deadlines (
            authority_id, offence, direction, day, declaration_code, code, state, late, n
        ) VALUES (
            p_authority, p_offence, p_direction, p_day, p_declaration, p_code, p_state, p_late,
            p_delta
        );
    END IF;
END $$;

-- A request counts once with offence '' and once more under each of its offence categories.
CREATE FUNCTION mla_stats_offences(request bigint) RETURNS SETOF varchar LANGUAGE sql STABLE AS $$
    SELECT ''::varchar
    UNION ALL
    SELECT category FROM mla_requests_requestoffence
    WHERE request_id = request AND category <> ''
$$;

CREATE FUNCTION mla_stats_followed_up(request bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM mla_requests_auditentry WHERE request_id = request AND event = 'followed_up'
    )
$$;

-- The request's contribution to the request counts, under one offence ('' for all).
CREATE FUNCTION mla_stats_count_request(
    r mla_requests_request, p_offence varchar, p_followed_up boolean, p_delta integer
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    owner bigint := mla_stats_owner(r.direction, r.issuing_authority_id, r.executing_authority_id);
BEGIN
    IF owner IS NOT NULL THEN
        PERFORM mla_stats_bump_request(
            owner, p_offence, r.direction,
            mla_stats_day(mla_stats_instant(r.direction, r.created_at, r.received_at)),
            r.declaration_code, r.issuing_country_code, r.executing_country_id, r.state,
            r.outcome_ground, p_followed_up, p_delta
        );
    END IF;
END $$;

-- One deadline's contribution to the deadline counts, under one offence.
CREATE FUNCTION mla_stats_count_deadline(
    r mla_requests_request, p_offence varchar, p_code varchar, p_state varchar,
    p_late boolean, p_delta integer
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    owner bigint := mla_stats_owner(r.direction, r.issuing_authority_id, r.executing_authority_id);
BEGIN
    IF owner IS NOT NULL AND p_state IN ('met', 'missed') THEN
        PERFORM mla_stats_bump_deadline(
            owner, p_offence, r.direction,
            mla_stats_day(mla_stats_instant(r.direction, r.created_at, r.received_at)),
            r.declaration_code, p_code, p_state, p_late, p_delta
        );
    END IF;
END $$;

-- The request's durations, under one offence ('' for all), when it is an authority's own
-- copy with a receipt.
CREATE FUNCTION mla_stats_add_duration(r mla_requests_request, p_offence varchar)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO mla_requests_stats_durations (
        request_id, authority_id, offence, direction, issuing_country_code,
        executing_country_id, declaration_code, instant, acknowledge, decide, execute
    )
    SELECT r.id, owner, p_offence, r.direction, r.issuing_country_code,
           r.executing_country_id, r.declaration_code,
           mla_stats_instant(r.direction, r.created_at, r.received_at),
           date_part('epoch', r.acknowledged_at - r.received_at),
           date_part('epoch', r.decided_at - r.received_at),
           CASE WHEN r.state IN ('executed', 'partially_executed')
                THEN date_part('epoch', r.closed_at - r.received_at) END
    FROM (SELECT mla_stats_owner(r.direction, r.issuing_authority_id, r.executing_authority_id)
          AS owner) own
    WHERE owner IS NOT NULL AND r.received_at IS NOT NULL
$$;

CREATE FUNCTION mla_stats_request_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    request bigint;
    followed boolean;
    offence varchar;
    deadline record;
    counts_move boolean := true;
    durations_move boolean := true;
    deadlines_move boolean;
BEGIN
    IF NOT mla_stats_on() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        counts_move := ROW(
            OLD.direction, OLD.issuing_authority_id, OLD.executing_authority_id,
            mla_stats_day(mla_stats_instant(OLD.direction, OLD.created_at, OLD.received_at)),
            OLD.declaration_code, OLD.issuing_country_code, OLD.executing_country_id,
            OLD.state, OLD.outcome_ground
        ) IS DISTINCT FROM ROW(
            NEW.direction, NEW.issuing_authority_id, NEW.executing_authority_id,
            mla_stats_day(mla_stats_instant(NEW.direction, NEW.created_at, NEW.received_at)),
            NEW.declaration_code, NEW.issuing_country_code, NEW.executing_country_id,
            NEW.state, NEW.outcome_ground
        );
        durations_move := ROW(
            OLD.direction, OLD.issuing_authority_id, OLD.executing_authority_id,
            OLD.issuing_country_code, OLD.executing_country_id, OLD.declaration_code,
            OLD.created_at, OLD.received_at, OLD.acknowledged_at, OLD.decided_at,
            OLD.closed_at, OLD.state IN ('executed', 'partially_executed')
        ) IS DISTINCT FROM ROW(
            NEW.direction, NEW.issuing_authority_id, NEW.executing_authority_id,
            NEW.issuing_country_code, NEW.executing_country_id, NEW.declaration_code,
            NEW.created_at, NEW.received_at, NEW.acknowledged_at, NEW.decided_at,
            NEW.closed_at, NEW.state IN ('executed', 'partially_executed')
        );
        deadlines_move := ROW(
            mla_stats_owner(OLD.direction, OLD.issuing_authority_id, OLD.executing_authority_id),
            OLD.direction,
            mla_stats_day(mla_stats_instant(OLD.direction, OLD.created_at, OLD.received_at)),
            OLD.declaration_code
        ) IS DISTINCT FROM ROW(
            mla_stats_owner(NEW.direction, NEW.issuing_authority_id, NEW.executing_authority_id),
            NEW.direction,
            mla_stats_day(mla_stats_instant(NEW.direction, NEW.created_at, NEW.received_at)),
            NEW.declaration_code
        );
        IF NOT (counts_move OR durations_move OR deadlines_move) THEN
            RETURN NULL;
        END IF;
        request := NEW.id;
    ELSIF TG_OP = 'INSERT' THEN
        -- No deadline can exist yet: its foreign key needs this row.
        deadlines_move := false;
        request := NEW.id;
    ELSE
        deadlines_move := true;
        request := OLD.id;
    END IF;
    IF deadlines_move THEN
        PERFORM mla_stats_lock_deadlines(request, true);
    END IF;
    IF durations_move AND TG_OP <> 'INSERT' THEN
        DELETE FROM mla_requests_stats_durations WHERE request_id = request;
    END IF;
    followed := mla_stats_followed_up(request);
    FOR offence IN SELECT mla_stats_offences(request) LOOP
        IF counts_move THEN
            IF TG_OP <> 'INSERT' THEN
                PERFORM mla_stats_count_request(OLD, offence, followed, -1);
            END IF;
            IF TG_OP <> 'DELETE' THEN
                PERFORM mla_stats_count_request(NEW, offence, followed, 1);
            END IF;
        END IF;
        IF durations_move AND TG_OP <> 'DELETE' THEN
            PERFORM mla_stats_add_duration(NEW, offence);
        END IF;
        IF deadlines_move THEN
            FOR deadline IN
                SELECT code, state, late FROM mla_requests_deadline
                WHERE request_id = request AND state IN ('met', 'missed')
            LOOP
                PERFORM mla_stats_count_deadline(
                    OLD, offence, deadline.code, deadline.state, deadline.late, -1
                );
                IF TG_OP = 'UPDATE' THEN
                    PERFORM mla_stats_count_deadline(
                        NEW, offence, deadline.code, deadline.state, deadline.late, 1
                    );
                END IF;
            END LOOP;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION mla_stats_deadline_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r mla_requests_request;
    offence varchar;
BEGIN
    IF NOT mla_stats_on() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND ROW(OLD.request_id, OLD.code, OLD.state, OLD.late)
            IS NOT DISTINCT FROM ROW(NEW.request_id, NEW.code, NEW.state, NEW.late) THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.state IN ('met', 'missed') THEN
        PERFORM mla_stats_lock_deadlines(OLD.request_id, false);
        SELECT * INTO r FROM mla_requests_request WHERE id = OLD.request_id;
        IF FOUND THEN
            FOR offence IN SELECT mla_stats_offences(OLD.request_id) LOOP
                PERFORM mla_stats_count_deadline(r, offence, OLD.code, OLD.state, OLD.late, -1);
            END LOOP;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.state IN ('met', 'missed') THEN
        PERFORM mla_stats_lock_deadlines(NEW.request_id, false);
        SELECT * INTO r FROM mla_requests_request WHERE id = NEW.request_id;
        IF FOUND THEN
            FOR offence IN SELECT mla_stats_offences(NEW.request_id) LOOP
                PERFORM mla_stats_count_deadline(r, offence, NEW.code, NEW.state, NEW.late, 1);
            END LOOP;
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- An offence category counts its request, its durations and its met and missed deadlines
-- once more under that category.
CREATE FUNCTION mla_stats_count_offence(request bigint, category varchar, p_delta integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r mla_requests_request;
    deadline record;
BEGIN
    IF category = '' THEN
        RETURN;
    END IF;
    SELECT * INTO r FROM mla_requests_request WHERE id = request FOR SHARE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM mla_stats_lock_deadlines(request, false);
    PERFORM mla_stats_count_request(r, category, mla_stats_followed_up(request), p_delta);
    IF p_delta > 0 THEN
        PERFORM mla_stats_add_duration(r, category);
    ELSE
        DELETE FROM mla_requests_stats_durations
        WHERE request_id = request AND offence = category;
    END IF;
    FOR deadline IN
        SELECT code, state, late FROM mla_requests_deadline
        WHERE request_id = request AND state IN ('met', 'missed')
    LOOP
        PERFORM mla_stats_count_deadline(
            r, category, deadline.code, deadline.state, deadline.late, p_delta
        );
    END LOOP;
END $$;

CREATE FUNCTION mla_stats_offence_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT mla_stats_on() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND ROW(OLD.request_id, OLD.category)
            IS NOT DISTINCT FROM ROW(NEW.request_id, NEW.category) THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM mla_stats_count_offence(OLD.request_id, OLD.category, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM mla_stats_count_offence(NEW.request_id, NEW.category, 1);
    END IF;
    RETURN NULL;
END $$;

-- The first "followed_up" entry of a request moves it to the followed-up counts (its last
-- one, were it ever removed, back). Audit entries are append-only and appended one at a
-- time (the chain head's lock), so "first" is decided by one writer at a time.
CREATE FUNCTION mla_stats_follow_up_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    request bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.request_id ELSE NEW.request_id END;
    r mla_requests_request;
    offence varchar;
    others boolean;
BEGIN
    IF NOT mla_stats_on() THEN
        RETURN NULL;
    END IF;
    SELECT * INTO r FROM mla_requests_request WHERE id = request FOR SHARE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        others := EXISTS (
            SELECT 1 FROM mla_requests_auditentry
            WHERE request_id = request AND event = 'followed_up' AND id <> NEW.id
        );
    ELSE
        others := mla_stats_followed_up(request);
    END IF;
    IF others THEN
        RETURN NULL;
    END IF;
    FOR offence IN SELECT mla_stats_offences(request) LOOP
        PERFORM mla_stats_count_request(r, offence, TG_OP = 'DELETE', -1);
        PERFORM mla_stats_count_request(r, offence, TG_OP = 'INSERT', 1);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER mla_stats_request
AFTER INSERT OR DELETE OR UPDATE OF
    direction, issuing_authority_id, executing_authority_id, created_at, received_at,
    acknowledged_at, decided_at, closed_at, declaration_code, issuing_country_code,
    executing_country_id, state, outcome_ground
ON mla_requests_request FOR EACH ROW EXECUTE FUNCTION mla_stats_request_changed();

CREATE TRIGGER mla_stats_deadline
AFTER INSERT OR DELETE OR UPDATE OF request_id, code, state, late
ON mla_requests_deadline FOR EACH ROW EXECUTE FUNCTION mla_stats_deadline_changed();

CREATE TRIGGER mla_stats_offence
AFTER INSERT OR DELETE OR UPDATE OF request_id, category
ON mla_requests_requestoffence FOR EACH ROW EXECUTE FUNCTION mla_stats_offence_changed();

CREATE TRIGGER mla_stats_follow_up_added
AFTER INSERT ON mla_requests_auditentry FOR EACH ROW WHEN (NEW.event = 'followed_up')
EXECUTE FUNCTION mla_stats_follow_up_changed();

CREATE TRIGGER mla_stats_follow_up_removed
AFTER DELETE ON mla_requests_auditentry FOR EACH ROW WHEN (OLD.event = 'followed_up')
EXECUTE FUNCTION mla_stats_follow_up_changed();

-- Count the requests with the given ids (NULL: all of them), their durations and their
-- deadlines, as the triggers would have: after a bulk load that paused them, and below for
-- the rows that exist already.
CREATE FUNCTION mla_stats_add_requests(ids bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- The chosen requests first, measured (ANALYZE), so that the joins below are planned for
    -- their number: a batch probes the indexes, the whole table is hashed.
    CREATE TEMPORARY TABLE mla_stats_added ON COMMIT DROP AS
    WITH chosen AS (
        SELECT * FROM mla_requests_request WHERE ids IS NULL
        UNION ALL
        -- A join, not "id = ANY(ids)": that compares every row with every id.
        SELECT r.* FROM unnest(ids) AS given(id) JOIN mla_requests_request r ON r.id = given.id
    )
    SELECT r.id,
           mla_stats_owner(r.direction, r.issuing_authority_id, r.executing_authority_id)
               AS owner,
           r.direction,
           mla_stats_day(mla_stats_instant(r.direction, r.created_at, r.received_at)) AS day,
           r.declaration_code, r.issuing_country_code, r.executing_country_id, r.state,
           r.outcome_ground, r.created_at, r.received_at, r.acknowledged_at, r.decided_at,
           r.closed_at,
           r.id IN (
               SELECT request_id FROM mla_requests_auditentry WHERE event = 'followed_up'
           ) AS followed_up
    FROM chosen r
    WHERE mla_stats_owner(r.direction, r.issuing_authority_id, r.executing_authority_id)
          IS NOT NULL;
    ANALYZE mla_stats_added;
    WITH tagged AS (
        SELECT a.*, ''::varchar AS offence FROM mla_stats_added a
        UNION ALL
        SELECT a.*, o.category FROM mla_stats_added a
        JOIN mla_requests_requestoffence o ON o.request_id = a.id AND o.category <> ''
    ),
    timed AS (
        INSERT INTO mla_requests_stats_durations (
            request_id, authority_id, offence, direction, issuing_country_code,
            executing_country_id, declaration_code, instant, acknowledge, decide, execute
        )
        SELECT id, owner, offence, direction, issuing_country_code, executing_country_id,
               declaration_code, mla_stats_instant(direction, created_at, received_at),
               date_part('epoch', acknowledged_at - received_at),
               date_part('epoch', decided_at - received_at),
               CASE WHEN state IN ('executed', 'partially_executed')
                    THEN date_part('epoch', closed_at - received_at) END
        FROM tagged WHERE received_at IS NOT NULL
        -- In the order of the indexes the statistics read: until a VACUUM marks the pages
        -- all-visible, their index-only scans read the table too, then page after page.
        ORDER BY owner, offence, direction, issuing_country_code, executing_country_id,
                 declaration_code, mla_stats_instant(direction, created_at, received_at)
    ),
    counted AS (
        INSERT INTO mla_requests_stats_requests (
            authority_id, offence, direction, day, declaration_code, issuing_country_code,
            executing_country_id, state, outcome_ground, followed_up, n
        )
        SELECT owner, offence, direction, day, declaration_code, issuing_country_code,
               executing_country_id, state, outcome_ground, followed_up, count(*)
        FROM tagged
        GROUP BY owner, offence, direction, day, declaration_code, issuing_country_code,
                 executing_country_id, state, outcome_ground, followed_up
    )
    INSERT INTO mla_requests_stats_deadlines (
        authority_id, offence, direction, day, declaration_code, code, state, late, n
    )
    SELECT t.owner, t.offence, t.direction, t.day, t.declaration_code, d.code, d.state, d.late,
           count(*)
    FROM tagged t
    JOIN mla_requests_deadline d ON d.request_id = t.id AND d.state IN ('met', 'missed')
    GROUP BY t.owner, t.offence, t.direction, t.day, t.declaration_code, d.code, d.state, d.late;
    DROP TABLE mla_stats_added;
END $$;

-- One row per key again, the keys that count nothing dropped: after a bulk load that added
-- a batch at a time (seeding), or whenever they have grown. Safe while others write: the
-- DELETE returns each row as last written (it waits for a writer holding one), the sums go
-- back in the same statement, and rows added meanwhile are left for the next time.
CREATE FUNCTION mla_stats_compact() RETURNS void LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM mla_requests_stats_requests
        WHERE (authority_id, offence, direction, day, declaration_code, issuing_country_code,
               executing_country_id, state, outcome_ground, followed_up) IN (
            SELECT authority_id, offence, direction, day, declaration_code,
                   issuing_country_code, executing_country_id, state, outcome_ground,
                   followed_up
            FROM mla_requests_stats_requests
            GROUP BY authority_id, offence, direction, day, declaration_code,
                     issuing_country_code, executing_country_id, state, outcome_ground,
                     followed_up
            HAVING count(*) > 1 OR sum(n) = 0
        )
        RETURNING *
    )
    INSERT INTO mla_requests_stats_requests (
        authority_id, offence, direction, day, declaration_code, issuing_country_code,
        executing_country_id, state, outcome_ground, followed_up, n
    )
    SELECT authority_id, offence, direction, day, declaration_code, issuing_country_code,
           executing_country_id, state, outcome_ground, followed_up, sum(n)
    FROM gone
    GROUP BY authority_id, offence, direction, day, declaration_code, issuing_country_code,
             executing_country_id, state, outcome_ground, followed_up
    HAVING sum(n) <> 0;
    WITH gone AS (
        DELETE FROM mla_requests_stats_deadlines
        WHERE (authority_id, offence, direction, day, declaration_code, code, state, late) IN (
            SELECT authority_id, offence, direction, day, declaration_code, code, state, late
            FROM mla_requests_stats_deadlines
            GROUP BY authority_id, offence, direction, day, declaration_code, code, state, late
            HAVING count(*) > 1 OR sum(n) = 0
        )
        RETURNING *
    )
    INSERT INTO mla_requests_stats_deadlines (
        authority_id, offence, direction, day, declaration_code, code, state, late, n
    )
    SELECT authority_id, offence, direction, day, declaration_code, code, state, late, sum(n)
    FROM gone
    GROUP BY authority_id, offence, direction, day, declaration_code, code, state, late
    HAVING sum(n) <> 0;
$$;

SELECT mla_stats_add_requests(NULL);
