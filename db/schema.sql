
CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA public;

COMMENT ON EXTENSION btree_gin IS 'support for indexing common datatypes in GIN';

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

COMMENT ON EXTENSION pg_trgm IS 'text similarity measurement and index searching based on trigrams';

CREATE TYPE public.river_job_state AS ENUM (
    'available',
    'cancelled',
    'completed',
    'discarded',
    'pending',
    'retryable',
    'running',
    'scheduled'
);

CREATE FUNCTION public.analytics_recount(org bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM set_config('app.organization_id', org::text, true);
    DELETE FROM analytics_deal_totals WHERE organization_id = org;
    DELETE FROM analytics_deals_created WHERE organization_id = org;
    DELETE FROM analytics_deals_open WHERE organization_id = org;
    DELETE FROM analytics_deals_won WHERE organization_id = org;
    DELETE FROM analytics_deal_paths WHERE organization_id = org;
    INSERT INTO analytics_deal_totals (organization_id, pipeline_id, status, stage, max_stage, currency, deals, amount)
    SELECT org, t.pipeline_id, t.status, t.stage, t.max_stage, t.currency, t.deals, t.amount
    FROM deals_stage_totals(org) t;
    INSERT INTO analytics_deals_created (organization_id, day, deals)
    SELECT org, c.day, c.deals
    FROM deals_created_per_day(org) c;
    INSERT INTO analytics_deals_open (organization_id, pipeline_id, month, stage, currency, overridden, deals, amount, amount_prob)
    SELECT org, o.pipeline_id, o.month, o.stage, o.currency, o.overridden, o.deals, o.amount, o.amount_prob
    FROM deals_open_by_close_month(org) o;
    INSERT INTO analytics_deals_won (organization_id, pipeline_id, day, currency, deals, amount, to_win_us)
    SELECT org, w.pipeline_id, w.day, w.currency, w.deals, w.amount, w.to_win_us
    FROM deals_won_per_day(org) w;
    INSERT INTO analytics_deal_paths (organization_id, pipeline_id, stages, deals)
    SELECT org, v.pipeline_id, v.stages, v.deals
    FROM deals_visited_sets(org) v;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

CREATE FUNCTION public.api_key_authenticate(hash bytea) RETURNS TABLE(key_id bigint, org_id bigint, creator_id bigint, key_role text, creator_role text)
    LANGUAGE plpgsql
    AS $$
DECLARE
    k record;
    found_key boolean;
    prev_hash text := current_setting('app.api_key_hash', true);
    prev_user text := current_setting('app.user_id', true);
    member_role text;
BEGIN
    PERFORM set_config('app.api_key_hash', encode(hash, 'hex'), true);
    SELECT a.id, a.organization_id, a.created_by, a.role INTO k
        FROM api_keys a
        WHERE a.token_hash = hash AND a.revoked_at IS NULL AND (a.expires_at IS NULL OR a.expires_at > now());
    found_key := FOUND;
    PERFORM set_config('app.api_key_hash', coalesce(prev_hash, ''), true);
    IF NOT found_key THEN
        RETURN;
    END IF;
    PERFORM set_config('app.user_id', k.created_by::text, true);
    member_role := organization_member_role(k.organization_id, k.created_by);
    PERFORM set_config('app.user_id', coalesce(prev_user, ''), true);
    IF member_role IS NULL THEN
        RETURN;
    END IF;
    key_id := k.id;
    org_id := k.organization_id;
    creator_id := k.created_by;
    key_role := k.role;
    creator_role := member_role;
    RETURN NEXT;
END
$$;

CREATE FUNCTION public.contact_counts_add() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO contact_counts AS c (organization_id, owner_id, slot, n)
    SELECT organization_id, owner_id, pg_backend_pid() % 8, count(*)
    FROM new_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2
    ON CONFLICT (organization_id, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.contact_counts_move() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO contact_counts AS c (organization_id, owner_id, slot, n)
    SELECT organization_id, owner_id, pg_backend_pid() % 8, sum(d)
    FROM (
        SELECT organization_id, owner_id, 1 AS d FROM new_rows WHERE deleted_at IS NULL
        UNION ALL
        SELECT organization_id, owner_id, -1 FROM old_rows WHERE deleted_at IS NULL
    ) moved
    GROUP BY 1, 2
    HAVING sum(d) <> 0
    ON CONFLICT (organization_id, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.contact_counts_remove() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO contact_counts AS c (organization_id, owner_id, slot, n)
    SELECT organization_id, owner_id, pg_backend_pid() % 8, -count(*)
    FROM old_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2
    ON CONFLICT (organization_id, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.contact_search_add() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO contact_search (organization_id, contact_id, doc)
    SELECT organization_id, id, search_doc
    FROM new_rows WHERE deleted_at IS NULL
    ORDER BY 1, 2;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.contact_search_move() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM contact_search s
    USING old_rows o JOIN new_rows n ON n.organization_id = o.organization_id AND n.id = o.id
    WHERE o.deleted_at IS NULL AND n.deleted_at IS NOT NULL
      AND s.organization_id = o.organization_id AND s.contact_id = o.id;
    INSERT INTO contact_search AS s (organization_id, contact_id, doc)
    SELECT n.organization_id, n.id, n.search_doc
    FROM new_rows n JOIN old_rows o ON o.organization_id = n.organization_id AND o.id = n.id
    WHERE n.deleted_at IS NULL AND (o.deleted_at IS NOT NULL OR n.search_doc <> o.search_doc)
    ORDER BY 1, 2
    ON CONFLICT (organization_id, contact_id) DO UPDATE SET doc = excluded.doc;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.contact_tags_add() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO contact_tags (organization_id, tag, contact_id)
    SELECT n.organization_id, t.tag, n.id
    FROM new_rows n CROSS JOIN LATERAL unnest(n.tags) AS t (tag)
    WHERE n.deleted_at IS NULL
    ORDER BY 1, 2, 3;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.contact_tags_move() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM contact_tags c
    USING (
        SELECT o.organization_id, t.tag, o.id
        FROM old_rows o JOIN new_rows n ON n.organization_id = o.organization_id AND n.id = o.id
        CROSS JOIN LATERAL unnest(o.tags) AS t (tag)
        WHERE o.deleted_at IS NULL AND (n.deleted_at IS NOT NULL OR NOT t.tag = ANY (n.tags))
    ) gone (organization_id, tag, id)
    WHERE c.organization_id = gone.organization_id AND c.tag = gone.tag AND c.contact_id = gone.id;
    INSERT INTO contact_tags (organization_id, tag, contact_id)
    SELECT n.organization_id, t.tag, n.id
    FROM new_rows n JOIN old_rows o ON o.organization_id = n.organization_id AND o.id = n.id
    CROSS JOIN LATERAL unnest(n.tags) AS t (tag)
    WHERE n.deleted_at IS NULL AND (o.deleted_at IS NOT NULL OR NOT t.tag = ANY (o.tags))
    ORDER BY 1, 2, 3;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.contacts_email_key(email text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN lower(btrim(email));

CREATE FUNCTION public.contacts_phone_digits(phone text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN regexp_replace(phone, '[^0-9]'::text, ''::text, 'g'::text);

CREATE FUNCTION public.contacts_search_doc(name text, email text, phone text, company text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN lower(concat_ws(''::text, name, email, phone, company));

CREATE FUNCTION public.contacts_tags_valid(tags text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ((cardinality(tags) <= 20) AND (array_position(tags, NULL::text) IS NULL) AND COALESCE((SELECT ((min(length(t.t)) >= 1) AND (max(length(t.t)) <= 50)) FROM unnest(contacts_tags_valid.tags) t(t)), true));

CREATE FUNCTION public.current_api_key_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.api_key_id', true), '')::bigint $$;

CREATE FUNCTION public.current_app_user_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::bigint $$;

CREATE FUNCTION public.current_organization_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.organization_id', true), '')::bigint $$;

CREATE FUNCTION public.deal_counts_add() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO deal_counts AS c (organization_id, pipeline_id, stage, status, owner_id, slot, n)
    SELECT organization_id, pipeline_id, stage, status, owner_id, pg_backend_pid() % 8, count(*)
    FROM new_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, stage, status, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    INSERT INTO deal_counts_org AS c (organization_id, slot, n)
    SELECT organization_id, pg_backend_pid() % 8, count(*)
    FROM new_rows WHERE deleted_at IS NULL
    GROUP BY 1
    ON CONFLICT (organization_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.deal_counts_move() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO deal_counts AS c (organization_id, pipeline_id, stage, status, owner_id, slot, n)
    SELECT organization_id, pipeline_id, stage, status, owner_id, pg_backend_pid() % 8, sum(d)
    FROM (
        SELECT organization_id, pipeline_id, stage, status, owner_id, 1 AS d FROM new_rows WHERE deleted_at IS NULL
        UNION ALL
        SELECT organization_id, pipeline_id, stage, status, owner_id, -1 FROM old_rows WHERE deleted_at IS NULL
    ) moved
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(d) <> 0
    ON CONFLICT (organization_id, pipeline_id, stage, status, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    INSERT INTO deal_counts_org AS c (organization_id, slot, n)
    SELECT organization_id, pg_backend_pid() % 8, sum(d)
    FROM (
        SELECT organization_id, 1 AS d FROM new_rows WHERE deleted_at IS NULL
        UNION ALL
        SELECT organization_id, -1 FROM old_rows WHERE deleted_at IS NULL
    ) moved
    GROUP BY 1
    HAVING sum(d) <> 0
    ON CONFLICT (organization_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.deal_counts_remove() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO deal_counts AS c (organization_id, pipeline_id, stage, status, owner_id, slot, n)
    SELECT organization_id, pipeline_id, stage, status, owner_id, pg_backend_pid() % 8, -count(*)
    FROM old_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, stage, status, owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    INSERT INTO deal_counts_org AS c (organization_id, slot, n)
    SELECT organization_id, pg_backend_pid() % 8, -count(*)
    FROM old_rows WHERE deleted_at IS NULL
    GROUP BY 1
    ON CONFLICT (organization_id, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.deal_visit_days_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM deal_visit_rows_moved(array_agg(organization_id), array_agg(pipeline_id), array_agg(day), array_agg(stage),
                                  array_agg(bucket), array_agg(visits), array_agg(total_s))
    FROM (
        SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date AS day, stage, deals_visit_bucket(entered_at, left_at) AS bucket,
               -count(*) AS visits, -sum(extract(epoch FROM left_at - entered_at)) AS total_s
        FROM old_rows WHERE left_at IS NOT NULL AND NOT trashed
        GROUP BY 1, 2, 3, 4, 5) d
    HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.deal_visit_days_insert() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM deal_visit_rows_moved(array_agg(organization_id), array_agg(pipeline_id), array_agg(day), array_agg(stage),
                                  array_agg(bucket), array_agg(visits), array_agg(total_s))
    FROM (
        SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date AS day, stage, deals_visit_bucket(entered_at, left_at) AS bucket,
               count(*) AS visits, sum(extract(epoch FROM left_at - entered_at)) AS total_s
        FROM new_rows WHERE left_at IS NOT NULL AND NOT trashed
        GROUP BY 1, 2, 3, 4, 5) d
    HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.deal_visit_days_update() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM deal_visit_rows_moved(array_agg(organization_id), array_agg(pipeline_id), array_agg(day), array_agg(stage),
                                  array_agg(bucket), array_agg(visits), array_agg(total_s))
    FROM (
        SELECT organization_id, pipeline_id, day, stage, bucket, sum(n)::bigint AS visits, sum(s) AS total_s
        FROM (
            SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date AS day, stage,
                   deals_visit_bucket(entered_at, left_at) AS bucket, 1 AS n, extract(epoch FROM left_at - entered_at) AS s
            FROM new_rows WHERE left_at IS NOT NULL AND NOT trashed
            UNION ALL
            SELECT organization_id, pipeline_id, (left_at AT TIME ZONE 'UTC')::date, stage,
                   deals_visit_bucket(entered_at, left_at), -1, -extract(epoch FROM left_at - entered_at)
            FROM old_rows WHERE left_at IS NOT NULL AND NOT trashed
        ) moved
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(n) <> 0 OR sum(s) <> 0) d
    HAVING count(*) > 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.deal_visit_rows_moved(orgs bigint[], pipelines bigint[], days date[], stages text[], buckets integer[], visits bigint[], totals numeric[]) RETURNS void
    LANGUAGE sql
    AS $$
    WITH moved AS (
        SELECT * FROM unnest(orgs, pipelines, days, stages, buckets, visits, totals)
            AS m (organization_id, pipeline_id, day, stage, bucket, visits, total_s)
    ), months AS (
        INSERT INTO deal_visit_months AS v (organization_id, pipeline_id, month, stage, bucket, slot, visits, total_s)
        SELECT d.organization_id, d.pipeline_id, d.month, d.stage, d.bucket, pg_backend_pid() % 8, d.visits, d.total_s FROM (
            SELECT organization_id, pipeline_id, deals_month_of(day) AS month, stage, bucket, sum(visits)::bigint AS visits, sum(total_s) AS total_s
            FROM moved GROUP BY 1, 2, 3, 4, 5 HAVING sum(visits) <> 0 OR sum(total_s) <> 0) d
        WHERE d.visits > 0
           OR EXISTS (SELECT FROM deal_visit_months x WHERE x.organization_id = d.organization_id AND x.pipeline_id = d.pipeline_id
                      AND x.month = d.month AND x.stage = d.stage AND x.bucket = d.bucket)
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (organization_id, pipeline_id, month, stage, bucket, slot)
            DO UPDATE SET visits = v.visits + excluded.visits, total_s = v.total_s + excluded.total_s
    )
    INSERT INTO deal_visit_days AS v (organization_id, pipeline_id, day, stage, bucket, slot, visits, total_s)
    SELECT d.organization_id, d.pipeline_id, d.day, d.stage, d.bucket, pg_backend_pid() % 8, d.visits, d.total_s FROM moved d
    WHERE d.visits > 0
       OR EXISTS (SELECT FROM deal_visit_days x WHERE x.organization_id = d.organization_id AND x.pipeline_id = d.pipeline_id
                  AND x.day = d.day AND x.stage = d.stage AND x.bucket = d.bucket)
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, pipeline_id, day, stage, bucket, slot)
        DO UPDATE SET visits = v.visits + excluded.visits, total_s = v.total_s + excluded.total_s
$$;

CREATE FUNCTION public.deals_created_per_day(org bigint) RETURNS TABLE(day date, deals bigint)
    LANGUAGE sql STABLE
    AS $$ SELECT (d.created_at AT TIME ZONE 'UTC')::date, count(*)
          FROM deals d
          WHERE d.organization_id = org AND d.deleted_at IS NULL
          GROUP BY 1 $$;

CREATE FUNCTION public.deals_fill_defaults() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.pipeline_id IS NULL THEN
        NEW.pipeline_id := coalesce(pipelines_default_id(NEW.organization_id),
                                    pipelines_create_default(NEW.organization_id));
    END IF;
    IF NEW.stage_entered_at IS NULL THEN
        NEW.stage_entered_at := NEW.created_at;
    END IF;
    IF NEW.closed_at IS NULL AND NEW.status IN ('won', 'lost') THEN
        NEW.closed_at := NEW.updated_at;
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION public.deals_first_visits() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO deal_stage_history (organization_id, deal_id, pipeline_id, stage, entered_at, left_at)
    SELECT organization_id, id, pipeline_id, stage, stage_entered_at,
           CASE WHEN status IN ('won', 'lost') THEN greatest(closed_at, stage_entered_at) END
    FROM new_rows
    ORDER BY organization_id, id;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.deals_month_of(day date) RETURNS date
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (day - ((EXTRACT(day FROM day))::integer - 1));

CREATE FUNCTION public.deals_open_by_close_month(org bigint) RETURNS TABLE(pipeline_id bigint, month date, stage text, currency text, overridden boolean, deals bigint, amount numeric, amount_prob numeric)
    LANGUAGE sql STABLE
    AS $$
    SELECT d.pipeline_id, coalesce(date_trunc('month', d.expected_close_date)::date, 'infinity'::date), d.stage,
           d.currency::text, d.probability IS NOT NULL, count(*), sum(d.amount), coalesce(sum(d.amount * d.probability), 0)
    FROM deals d
    WHERE d.organization_id = org AND d.status IN ('new', 'in_progress') AND d.deleted_at IS NULL
    GROUP BY 1, 2, 3, 4, 5
$$;

CREATE FUNCTION public.deals_owner_id(org bigint, deal bigint) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ SELECT owner_id FROM deals WHERE organization_id = org AND id = deal $$;

CREATE FUNCTION public.deals_pipeline_totals(org bigint) RETURNS TABLE(status text, stage smallint, max_stage smallint, currency character, deals bigint, amount numeric)
    LANGUAGE sql STABLE
    AS $$ SELECT d.status, deals_stage_position(d.stage), d.max_stage, d.currency, count(*), sum(d.amount)
          FROM deals d
          WHERE d.organization_id = org AND d.deleted_at IS NULL
          GROUP BY 1, 2, 3, 4 $$;

CREATE FUNCTION public.deals_stage_position(stage text) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE stage WHEN 'qualification' THEN 1 WHEN 'proposal' THEN 2
                            WHEN 'negotiation' THEN 3 WHEN 'closed' THEN 4 END::smallint $$;

CREATE FUNCTION public.deals_stage_totals(org bigint) RETURNS TABLE(pipeline_id bigint, status text, stage text, max_stage smallint, currency character, deals bigint, amount numeric)
    LANGUAGE sql STABLE
    AS $$ SELECT d.pipeline_id, d.status, d.stage, d.max_stage, d.currency, count(*), sum(d.amount)
          FROM deals d
          WHERE d.organization_id = org AND d.deleted_at IS NULL
          GROUP BY 1, 2, 3, 4, 5 $$;

CREATE FUNCTION public.deals_visit_bucket(entered timestamp with time zone, ended timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE
    AS $$
BEGIN
    IF NOT isfinite(entered) OR NOT isfinite(ended) THEN
        RETURN NULL;
    END IF;
    RETURN width_bucket(extract(epoch FROM ended - entered), '{1,2,3,4,5,6,7,8,10,11,13,16,19,23,27,32,38,45,54,64,76,91,108,128,152,181,215,256,304,362,431,512,609,724,861,1024,1218,1448,1722,2048,2435,2896,3444,4096,4871,5793,6889,8192,9742,11585,13777,16384,19484,23170,27554,32768,38968,46341,55109,65536,77936,92682,110218,131072,155872,185364,220436,262144,311744,370728,440872,524288,623487,741455,881744,1048576,1246974,1482910,1763488,2097152,2493948,2965821,3526975,4194304,4987896,5931642,7053950,8388608,9975792,11863283,14107901,16777216,19951585,23726566,28215802,33554432,39903169,47453133,56431603,67108864,79806339,94906266,112863206,134217728,159612677,189812531,225726413,268435456,319225354,379625062,451452825,536870912}'::numeric[]);
END
$$;

CREATE FUNCTION public.deals_visited_sets(org bigint) RETURNS TABLE(pipeline_id bigint, stages text[], deals bigint)
    LANGUAGE sql STABLE
    AS $$
    SELECT v.pipeline_id, v.stages, count(*)
    FROM (SELECT d.pipeline_id, array_agg(DISTINCT h.stage COLLATE "C" ORDER BY h.stage COLLATE "C") AS stages
          FROM deals d
          JOIN deal_stage_history h ON h.organization_id = d.organization_id AND h.deal_id = d.id AND h.pipeline_id = d.pipeline_id
          WHERE d.organization_id = org AND d.deleted_at IS NULL
          GROUP BY d.id, d.pipeline_id) v
    GROUP BY 1, 2
$$;

CREATE FUNCTION public.deals_won_per_day(org bigint) RETURNS TABLE(pipeline_id bigint, day date, currency text, deals bigint, amount numeric, to_win_us numeric)
    LANGUAGE sql STABLE
    AS $$
    SELECT d.pipeline_id, (d.closed_at AT TIME ZONE 'UTC')::date, d.currency::text, count(*), sum(d.amount),
           sum(extract(epoch FROM d.closed_at - d.created_at) * 1000000)
    FROM deals d
    WHERE d.organization_id = org AND d.status = 'won' AND d.deleted_at IS NULL
    GROUP BY 1, 2, 3
$$;

CREATE FUNCTION public.events_purge(cutoff timestamp with time zone, batch integer) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public'
    AS $$
    WITH gone AS (
        DELETE FROM events e
        WHERE (e.organization_id, e.id) IN (SELECT o.organization_id, o.id FROM events o
                                            WHERE o.occurred_at < cutoff LIMIT batch)
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$;

CREATE FUNCTION public.events_sequence(batch integer) RETURNS TABLE(organization_id bigint, id bigint, "position" bigint, type text, audience smallint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public'
    AS $$
DECLARE
    base bigint;
    n    bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM events e WHERE e.position IS NULL) THEN
        RETURN;
    END IF;
    SELECT s.last_position INTO base FROM event_sequencer s FOR UPDATE;
    RETURN QUERY
    WITH picked AS (
        SELECT w.organization_id, w.id, base + row_number() OVER (ORDER BY w.id) AS pos
        FROM (SELECT e.organization_id, e.id FROM events e
              WHERE e.position IS NULL ORDER BY e.id LIMIT batch) w
    )
    UPDATE events e SET position = p.pos
    FROM picked p
    WHERE e.organization_id = p.organization_id AND e.id = p.id
    RETURNING e.organization_id, e.id, e.position, e.type, e.audience;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        UPDATE event_sequencer SET last_position = base + n;
    END IF;
END
$$;

CREATE FUNCTION public.organization_ids() RETURNS SETOF bigint
    LANGUAGE sql STABLE
    AS $$ SELECT id FROM organizations WHERE closed_at IS NULL ORDER BY id $$;

CREATE FUNCTION public.organization_member_role(org bigint, member bigint) RETURNS text
    LANGUAGE sql STABLE
    AS $$
        SELECT m.role FROM organization_members m JOIN organizations o ON o.id = m.organization_id
        WHERE m.organization_id = org AND m.user_id = member AND o.closed_at IS NULL
    $$;

CREATE FUNCTION public.orgs_memberships_changed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_TABLE_NAME = 'organizations' THEN
        PERFORM pg_notify('crm_cache', 'memberships:' || COALESCE(NEW.id, OLD.id));
    ELSE
        PERFORM pg_notify('crm_cache', 'memberships:' || COALESCE(NEW.organization_id, OLD.organization_id));
        IF TG_OP = 'UPDATE' AND NEW.organization_id <> OLD.organization_id THEN
            PERFORM pg_notify('crm_cache', 'memberships:' || OLD.organization_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.pipelines_create_default(org bigint) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    pid bigint;
BEGIN
    INSERT INTO pipelines (organization_id, name, position, is_default)
    VALUES (org, 'Sales', coalesce((SELECT max(p.position) FROM pipelines p WHERE p.organization_id = org), 0) + 1, true)
    RETURNING id INTO pid;
    INSERT INTO pipeline_stages (organization_id, pipeline_id, key, name, position, probability)
    VALUES (org, pid, 'qualification', 'Qualification', 1, 10),
           (org, pid, 'proposal', 'Proposal', 2, 30),
           (org, pid, 'negotiation', 'Negotiation', 3, 60),
           (org, pid, 'closed', 'Closed', 4, 100);
    RETURN pid;
END
$$;

CREATE FUNCTION public.pipelines_default_id(org bigint) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ SELECT p.id FROM pipelines p WHERE p.organization_id = org AND p.is_default $$;

CREATE FUNCTION public.pipelines_stage_probability(org bigint, pipeline bigint, stage text) RETURNS integer
    LANGUAGE sql STABLE
    AS $$ SELECT s.probability FROM pipeline_stages s
          WHERE s.organization_id = org AND s.pipeline_id = pipeline AND s.key = stage $$;

CREATE FUNCTION public.river_job_state_in_bitmask(bitmask bit, state public.river_job_state) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE state
        WHEN 'available' THEN get_bit(bitmask, 7)
        WHEN 'cancelled' THEN get_bit(bitmask, 6)
        WHEN 'completed' THEN get_bit(bitmask, 5)
        WHEN 'discarded' THEN get_bit(bitmask, 4)
        WHEN 'pending'   THEN get_bit(bitmask, 3)
        WHEN 'retryable' THEN get_bit(bitmask, 2)
        WHEN 'running'   THEN get_bit(bitmask, 1)
        WHEN 'scheduled' THEN get_bit(bitmask, 0)
        ELSE 0
    END = 1;
$$;

CREATE FUNCTION public.task_counts_add() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO task_counts AS c (organization_id, assignee_id, is_done, slot, n)
    SELECT organization_id, coalesce(assignee_id, 0), is_done, pg_backend_pid() % 8, count(*)
    FROM new_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3
    ON CONFLICT (organization_id, assignee_id, is_done, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.task_counts_move() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO task_counts AS c (organization_id, assignee_id, is_done, slot, n)
    SELECT organization_id, assignee_id, is_done, pg_backend_pid() % 8, sum(d)
    FROM (
        SELECT organization_id, coalesce(assignee_id, 0) AS assignee_id, is_done, 1 AS d FROM new_rows WHERE deleted_at IS NULL
        UNION ALL
        SELECT organization_id, coalesce(assignee_id, 0), is_done, -1 FROM old_rows WHERE deleted_at IS NULL
    ) moved
    GROUP BY 1, 2, 3
    HAVING sum(d) <> 0
    ON CONFLICT (organization_id, assignee_id, is_done, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.task_counts_remove() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO task_counts AS c (organization_id, assignee_id, is_done, slot, n)
    SELECT organization_id, coalesce(assignee_id, 0), is_done, pg_backend_pid() % 8, -count(*)
    FROM old_rows WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3
    ON CONFLICT (organization_id, assignee_id, is_done, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.tasks_fill_defaults() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.assignee_id IS NULL THEN
        NEW.assignee_id := deals_owner_id(NEW.organization_id, NEW.deal_id);
    END IF;
    IF NOT NEW.is_done THEN
        NEW.completed_at := NULL;
    ELSIF TG_OP = 'INSERT' THEN
        NEW.completed_at := coalesce(NEW.completed_at, NEW.updated_at);
    ELSIF NOT OLD.is_done THEN
        NEW.completed_at := NEW.updated_at;
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION public.timeline_changes(org bigint, typ text) RETURNS TABLE(id bigint, deal_id bigint, from_value text, to_value text, created_at timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$ SELECT a.id, a.deal_id, a.payload->>'from', a.payload->>'to', a.created_at
          FROM activities a
          WHERE a.organization_id = org AND a.type = typ
          ORDER BY a.created_at, a.id $$;

CREATE FUNCTION public.trash_due_organizations(cutoff timestamp with time zone) RETURNS SETOF bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public'
    AS $$
    SELECT DISTINCT organization_id FROM trash_items WHERE purge_at <= cutoff ORDER BY 1
$$;

CREATE FUNCTION public.webhook_deliveries_purge(cutoff timestamp with time zone, batch integer) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public'
    AS $$
    WITH gone AS (
        DELETE FROM webhook_deliveries d
        WHERE (d.organization_id, d.id) IN (SELECT o.organization_id, o.id FROM webhook_deliveries o
                                            WHERE o.created_at < cutoff AND o.status <> 'pending' LIMIT batch)
        RETURNING 1
    )
    SELECT count(*) FROM gone
$$;

CREATE TABLE public.activities (
    id bigint NOT NULL,
    organization_id bigint NOT NULL,
    deal_id bigint NOT NULL,
    author_id bigint,
    type text NOT NULL,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    edited_at timestamp with time zone,
    CONSTRAINT activities_edited_comment_check CHECK (((edited_at IS NULL) OR (type = 'comment'::text))),
    CONSTRAINT activities_payload_check CHECK ((jsonb_typeof(payload) = 'object'::text)),
    CONSTRAINT activities_type_check CHECK ((type ~ '^[a-z][a-z0-9_]{0,49}$'::text))
);

ALTER TABLE ONLY public.activities FORCE ROW LEVEL SECURITY;

ALTER TABLE public.activities ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.activities_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.analytics_deal_paths (
    organization_id bigint NOT NULL,
    pipeline_id bigint NOT NULL,
    stages text[] NOT NULL,
    deals bigint NOT NULL,
    slot smallint DEFAULT 0 NOT NULL,
    CONSTRAINT analytics_deal_paths_slot_check CHECK (((slot >= 0) AND (slot <= 7)))
);

ALTER TABLE ONLY public.analytics_deal_paths FORCE ROW LEVEL SECURITY;

CREATE TABLE public.analytics_deal_totals (
    organization_id bigint NOT NULL,
    pipeline_id bigint NOT NULL,
    status text NOT NULL,
    stage text NOT NULL,
    max_stage smallint NOT NULL,
    currency character(3) NOT NULL,
    deals bigint NOT NULL,
    amount numeric(30,2) NOT NULL,
    slot smallint DEFAULT 0 NOT NULL,
    CONSTRAINT analytics_deal_totals_max_stage_check CHECK (((max_stage >= 1) AND (max_stage <= 4))),
    CONSTRAINT analytics_deal_totals_slot_check CHECK (((slot >= 0) AND (slot <= 7))),
    CONSTRAINT analytics_deal_totals_status_check CHECK ((status = ANY (ARRAY['new'::text, 'in_progress'::text, 'won'::text, 'lost'::text])))
);

ALTER TABLE ONLY public.analytics_deal_totals FORCE ROW LEVEL SECURITY;

CREATE TABLE public.analytics_deals_created (
    organization_id bigint NOT NULL,
    day date NOT NULL,
    deals bigint NOT NULL,
    slot smallint DEFAULT 0 NOT NULL,
    CONSTRAINT analytics_deals_created_slot_check CHECK (((slot >= 0) AND (slot <= 7)))
);

ALTER TABLE ONLY public.analytics_deals_created FORCE ROW LEVEL SECURITY;

CREATE TABLE public.analytics_deals_open (
    organization_id bigint NOT NULL,
    pipeline_id bigint NOT NULL,
    month date NOT NULL,
    stage text NOT NULL,
    currency character(3) NOT NULL,
    overridden boolean NOT NULL,
    deals bigint NOT NULL,
    amount numeric(30,2) NOT NULL,
    amount_prob numeric(33,2) NOT NULL,
    slot smallint DEFAULT 0 NOT NULL,
    CONSTRAINT analytics_deals_open_slot_check CHECK (((slot >= 0) AND (slot <= 7)))
);

ALTER TABLE ONLY public.analytics_deals_open FORCE ROW LEVEL SECURITY;

CREATE TABLE public.analytics_deals_won (
    organization_id bigint NOT NULL,
    pipeline_id bigint NOT NULL,
    day date NOT NULL,
    currency character(3) NOT NULL,
    deals bigint NOT NULL,
    amount numeric(30,2) NOT NULL,
    to_win_us numeric(40,0) NOT NULL,
    slot smallint DEFAULT 0 NOT NULL,
    CONSTRAINT analytics_deals_won_slot_check CHECK (((slot >= 0) AND (slot <= 7)))
);

ALTER TABLE ONLY public.analytics_deals_won FORCE ROW LEVEL SECURITY;

CREATE TABLE public.api_keys (
    organization_id bigint NOT NULL,
    id bigint NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    prefix text NOT NULL,
    token_hash bytea NOT NULL,
    created_by bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT api_keys_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT api_keys_prefix_check CHECK ((length(prefix) = 8)),
    CONSTRAINT api_keys_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'manager'::text, 'member'::text]))),
    CONSTRAINT api_keys_token_hash_check CHECK ((length(token_hash) = 32))
);

ALTER TABLE ONLY public.api_keys FORCE ROW LEVEL SECURITY;

ALTER TABLE public.api_keys ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.api_keys_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.contact_counts (
    organization_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    slot smallint NOT NULL,
    n bigint NOT NULL
);

ALTER TABLE ONLY public.contact_counts FORCE ROW LEVEL SECURITY;

CREATE TABLE public.contact_history (
    organization_id bigint NOT NULL,
    id bigint NOT NULL,
    contact_id bigint NOT NULL,
    changed_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    actor_type text NOT NULL,
    actor_id bigint,
    changes jsonb NOT NULL,
    CONSTRAINT contact_history_actor_type_check CHECK ((actor_type = ANY (ARRAY['user'::text, 'api_key'::text, 'system'::text]))),
    CONSTRAINT contact_history_changes_check CHECK (((jsonb_typeof(changes) = 'object'::text) AND (changes <> '{}'::jsonb))),
    CONSTRAINT contact_history_check CHECK (((actor_type = 'system'::text) = (actor_id IS NULL)))
);

ALTER TABLE ONLY public.contact_history FORCE ROW LEVEL SECURITY;

ALTER TABLE public.contact_history ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.contact_history_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.contact_search (
    organization_id bigint NOT NULL,
    contact_id bigint NOT NULL,
    doc text NOT NULL
);

ALTER TABLE ONLY public.contact_search FORCE ROW LEVEL SECURITY;

CREATE TABLE public.contact_tags (
    organization_id bigint NOT NULL,
    tag text NOT NULL,
    contact_id bigint NOT NULL
);

ALTER TABLE ONLY public.contact_tags FORCE ROW LEVEL SECURITY;

CREATE TABLE public.contacts (
    id bigint NOT NULL,
    organization_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    name text NOT NULL,
    email text,
    phone text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    company text,
    job_title text,
    notes text,
    tags text[] DEFAULT '{}'::text[] NOT NULL,
    deleted_at timestamp with time zone,
    deleted_by_type text,
    deleted_by_id bigint,
    search_doc text GENERATED ALWAYS AS (public.contacts_search_doc(name, email, phone, company)) STORED NOT NULL,
    CONSTRAINT contacts_company_check CHECK (((length(company) >= 1) AND (length(company) <= 200))),
    CONSTRAINT contacts_deleted_by_check CHECK (((deleted_at IS NULL) = (deleted_by_type IS NULL))),
    CONSTRAINT contacts_deleted_by_type_check CHECK ((deleted_by_type = ANY (ARRAY['user'::text, 'api_key'::text, 'system'::text]))),
    CONSTRAINT contacts_email_check CHECK (((length(email) >= 3) AND (length(email) <= 254))),
    CONSTRAINT contacts_job_title_check CHECK (((length(job_title) >= 1) AND (length(job_title) <= 200))),
    CONSTRAINT contacts_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT contacts_notes_check CHECK (((length(notes) >= 1) AND (length(notes) <= 10000))),
    CONSTRAINT contacts_phone_check CHECK ((phone ~ '^[0-9 +()-]{1,32}$'::text)),
    CONSTRAINT contacts_tags_check CHECK (public.contacts_tags_valid(tags))
);

ALTER TABLE ONLY public.contacts FORCE ROW LEVEL SECURITY;

ALTER TABLE public.contacts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.contacts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.deal_counts (
    organization_id bigint NOT NULL,
    pipeline_id bigint NOT NULL,
    stage text NOT NULL,
    status text NOT NULL,
    owner_id bigint NOT NULL,
    slot smallint NOT NULL,
    n bigint NOT NULL
);

ALTER TABLE ONLY public.deal_counts FORCE ROW LEVEL SECURITY;

CREATE TABLE public.deal_counts_org (
    organization_id bigint NOT NULL,
    slot smallint NOT NULL,
    n bigint NOT NULL,
    CONSTRAINT deal_counts_org_slot_check CHECK (((slot >= 0) AND (slot <= 7)))
);

ALTER TABLE ONLY public.deal_counts_org FORCE ROW LEVEL SECURITY;

CREATE TABLE public.deal_stage_history (
    organization_id bigint NOT NULL,
    id bigint NOT NULL,
    deal_id bigint NOT NULL,
    pipeline_id bigint NOT NULL,
    stage text NOT NULL,
    entered_at timestamp with time zone NOT NULL,
    left_at timestamp with time zone,
    trashed boolean DEFAULT false NOT NULL,
    CONSTRAINT deal_stage_history_check CHECK ((left_at >= entered_at))
);

ALTER TABLE ONLY public.deal_stage_history FORCE ROW LEVEL SECURITY;

ALTER TABLE public.deal_stage_history ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.deal_stage_history_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.deal_visit_days (
    organization_id bigint NOT NULL,
    pipeline_id bigint NOT NULL,
    day date NOT NULL,
    stage text NOT NULL,
    bucket integer NOT NULL,
    visits bigint NOT NULL,
    total_s numeric NOT NULL,
    slot smallint DEFAULT 0 NOT NULL
)
WITH (fillfactor='90');

ALTER TABLE ONLY public.deal_visit_days FORCE ROW LEVEL SECURITY;

CREATE TABLE public.deal_visit_months (
    organization_id bigint NOT NULL,
    pipeline_id bigint NOT NULL,
    month date NOT NULL,
    stage text NOT NULL,
    bucket integer NOT NULL,
    slot smallint DEFAULT 0 NOT NULL,
    visits bigint NOT NULL,
    total_s numeric NOT NULL,
    CONSTRAINT deal_visit_months_month_check CHECK ((EXTRACT(day FROM month) = (1)::numeric))
)
WITH (fillfactor='90');

ALTER TABLE ONLY public.deal_visit_months FORCE ROW LEVEL SECURITY;

CREATE TABLE public.deals (
    id bigint NOT NULL,
    organization_id bigint NOT NULL,
    contact_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    title text NOT NULL,
    amount numeric(14,2) NOT NULL,
    currency character(3) NOT NULL,
    status text DEFAULT 'new'::text NOT NULL,
    stage text DEFAULT 'qualification'::text NOT NULL,
    max_stage smallint DEFAULT 1 NOT NULL,
    lost_reason text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    pipeline_id bigint NOT NULL,
    expected_close_date date,
    probability smallint,
    closed_at timestamp with time zone,
    stage_entered_at timestamp with time zone NOT NULL,
    deleted_at timestamp with time zone,
    deleted_by_type text,
    deleted_by_id bigint,
    CONSTRAINT deals_amount_check CHECK ((amount >= (0)::numeric)),
    CONSTRAINT deals_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT deals_deleted_by_check CHECK (((deleted_at IS NULL) = (deleted_by_type IS NULL))),
    CONSTRAINT deals_deleted_by_type_check CHECK ((deleted_by_type = ANY (ARRAY['user'::text, 'api_key'::text, 'system'::text]))),
    CONSTRAINT deals_lost_reason_check CHECK (((length(lost_reason) >= 1) AND (length(lost_reason) <= 1000))),
    CONSTRAINT deals_max_stage_check CHECK (((max_stage >= 1) AND (max_stage <= 4))),
    CONSTRAINT deals_max_stage_reached CHECK ((max_stage >= public.deals_stage_position(stage))),
    CONSTRAINT deals_probability_check CHECK (((probability >= 0) AND (probability <= 100))),
    CONSTRAINT deals_status_check CHECK ((status = ANY (ARRAY['new'::text, 'in_progress'::text, 'won'::text, 'lost'::text]))),
    CONSTRAINT deals_title_check CHECK (((length(title) >= 1) AND (length(title) <= 200)))
);

ALTER TABLE ONLY public.deals FORCE ROW LEVEL SECURITY;

ALTER TABLE public.deals ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.deals_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.event_sequencer (
    only_row boolean DEFAULT true NOT NULL,
    last_position bigint NOT NULL,
    CONSTRAINT event_sequencer_only_row_check CHECK (only_row)
);

CREATE TABLE public.events (
    organization_id bigint NOT NULL,
    id bigint NOT NULL,
    "position" bigint,
    type text NOT NULL,
    audience smallint DEFAULT 0 NOT NULL,
    occurred_at timestamp with time zone DEFAULT now() NOT NULL,
    actor_type text NOT NULL,
    actor_id bigint,
    data json NOT NULL,
    CONSTRAINT events_actor CHECK ((actor_type = ANY (ARRAY['user'::text, 'api_key'::text, 'system'::text]))),
    CONSTRAINT events_audience CHECK (((audience >= 0) AND (audience <= 2)))
);

ALTER TABLE ONLY public.events FORCE ROW LEVEL SECURITY;

CREATE SEQUENCE public.events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.events_id_seq OWNED BY public.events.id;

CREATE TABLE public.idempotency_keys (
    user_id bigint NOT NULL,
    organization_id bigint NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    status integer,
    headers jsonb,
    body bytea,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    api_key_id bigint DEFAULT 0 NOT NULL,
    CONSTRAINT idempotency_keys_key_check CHECK (((length(key) >= 1) AND (length(key) <= 255)))
);

ALTER TABLE ONLY public.idempotency_keys FORCE ROW LEVEL SECURITY;

CREATE TABLE public.import_uploads (
    organization_id bigint NOT NULL,
    import_id bigint NOT NULL,
    body bytea NOT NULL
);
ALTER TABLE ONLY public.import_uploads ALTER COLUMN body SET STORAGE EXTERNAL;

ALTER TABLE ONLY public.import_uploads FORCE ROW LEVEL SECURITY;

CREATE TABLE public.imports (
    organization_id bigint NOT NULL,
    id bigint NOT NULL,
    type text NOT NULL,
    dry_run boolean NOT NULL,
    status text DEFAULT 'queued'::text NOT NULL,
    created_by bigint NOT NULL,
    api_key_id bigint,
    size_bytes bigint NOT NULL,
    total_rows integer,
    processed_rows integer DEFAULT 0 NOT NULL,
    created integer DEFAULT 0 NOT NULL,
    error_count integer DEFAULT 0 NOT NULL,
    errors json DEFAULT '[]'::json NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    CONSTRAINT imports_check CHECK (((finished_at IS NULL) = (status = ANY (ARRAY['queued'::text, 'running'::text])))),
    CONSTRAINT imports_created_check CHECK ((created >= 0)),
    CONSTRAINT imports_error_count_check CHECK ((error_count >= 0)),
    CONSTRAINT imports_processed_rows_check CHECK ((processed_rows >= 0)),
    CONSTRAINT imports_size_bytes_check CHECK ((size_bytes >= 0)),
    CONSTRAINT imports_status_check CHECK ((status = ANY (ARRAY['queued'::text, 'running'::text, 'succeeded'::text, 'failed'::text]))),
    CONSTRAINT imports_total_rows_check CHECK ((total_rows >= 0)),
    CONSTRAINT imports_type_check CHECK ((type = ANY (ARRAY['contacts'::text, 'deals'::text])))
);

ALTER TABLE ONLY public.imports FORCE ROW LEVEL SECURITY;

ALTER TABLE public.imports ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.imports_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.invitations (
    organization_id bigint NOT NULL,
    id bigint NOT NULL,
    email text NOT NULL,
    role text NOT NULL,
    token_hash bytea NOT NULL,
    invited_by bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    accepted_at timestamp with time zone,
    accepted_by bigint,
    revoked_at timestamp with time zone,
    CONSTRAINT invitations_check CHECK (((accepted_at IS NULL) OR (revoked_at IS NULL))),
    CONSTRAINT invitations_email_check CHECK (((email <> ''::text) AND (length(email) <= 254))),
    CONSTRAINT invitations_role_check CHECK ((role = ANY (ARRAY['owner'::text, 'admin'::text, 'manager'::text, 'member'::text]))),
    CONSTRAINT invitations_token_hash_check CHECK ((length(token_hash) = 32))
);

ALTER TABLE ONLY public.invitations FORCE ROW LEVEL SECURITY;

ALTER TABLE public.invitations ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.invitations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.organization_members (
    organization_id bigint NOT NULL,
    user_id bigint NOT NULL,
    role text NOT NULL,
    joined_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT organization_members_role_check CHECK ((role = ANY (ARRAY['owner'::text, 'admin'::text, 'manager'::text, 'member'::text])))
);

ALTER TABLE ONLY public.organization_members FORCE ROW LEVEL SECURITY;

CREATE TABLE public.organizations (
    id bigint NOT NULL,
    name text NOT NULL,
    default_currency character(3) DEFAULT 'USD'::bpchar NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    time_zone text DEFAULT 'UTC'::text NOT NULL,
    closed_at timestamp with time zone,
    CONSTRAINT organizations_default_currency_check CHECK ((default_currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT organizations_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT organizations_time_zone_check CHECK (((length(time_zone) >= 1) AND (length(time_zone) <= 64)))
);

ALTER TABLE public.organizations ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.organizations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.pipeline_stages (
    organization_id bigint NOT NULL,
    pipeline_id bigint NOT NULL,
    id bigint NOT NULL,
    key text NOT NULL,
    name text NOT NULL,
    "position" integer NOT NULL,
    probability integer DEFAULT 0 NOT NULL,
    rotten_days integer,
    CONSTRAINT pipeline_stages_key_check CHECK ((key ~ '^[a-z][a-z0-9_]{0,49}$'::text)),
    CONSTRAINT pipeline_stages_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100))),
    CONSTRAINT pipeline_stages_position_check CHECK ((("position" >= 1) AND ("position" <= 50))),
    CONSTRAINT pipeline_stages_probability_check CHECK (((probability >= 0) AND (probability <= 100))),
    CONSTRAINT pipeline_stages_rotten_days_check CHECK (((rotten_days >= 1) AND (rotten_days <= 3650)))
);

ALTER TABLE ONLY public.pipeline_stages FORCE ROW LEVEL SECURITY;

ALTER TABLE public.pipeline_stages ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.pipeline_stages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.pipelines (
    organization_id bigint NOT NULL,
    id bigint NOT NULL,
    name text NOT NULL,
    "position" integer NOT NULL,
    is_default boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT pipelines_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100))),
    CONSTRAINT pipelines_position_check CHECK (("position" >= 1))
);

ALTER TABLE ONLY public.pipelines FORCE ROW LEVEL SECURITY;

ALTER TABLE public.pipelines ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.pipelines_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.refresh_tokens (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    family_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.refresh_tokens ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.refresh_tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.river_job (
    id bigint NOT NULL,
    state public.river_job_state DEFAULT 'available'::public.river_job_state NOT NULL,
    attempt smallint DEFAULT 0 NOT NULL,
    max_attempts smallint DEFAULT 25 NOT NULL,
    attempted_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finalized_at timestamp with time zone,
    scheduled_at timestamp with time zone DEFAULT now() NOT NULL,
    priority smallint DEFAULT 1 NOT NULL,
    args jsonb NOT NULL,
    attempted_by text[],
    errors jsonb[],
    kind text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    queue text DEFAULT 'default'::text NOT NULL,
    tags character varying(255)[] DEFAULT '{}'::character varying[] NOT NULL,
    unique_key bytea,
    unique_states bit(8),
    CONSTRAINT finalized_or_finalized_at_null CHECK ((((finalized_at IS NULL) AND (state <> ALL (ARRAY['cancelled'::public.river_job_state, 'completed'::public.river_job_state, 'discarded'::public.river_job_state]))) OR ((finalized_at IS NOT NULL) AND (state = ANY (ARRAY['cancelled'::public.river_job_state, 'completed'::public.river_job_state, 'discarded'::public.river_job_state]))))),
    CONSTRAINT kind_length CHECK (((char_length(kind) > 0) AND (char_length(kind) < 128))),
    CONSTRAINT max_attempts_is_positive CHECK ((max_attempts > 0)),
    CONSTRAINT priority_in_range CHECK (((priority >= 1) AND (priority <= 4))),
    CONSTRAINT queue_length CHECK (((char_length(queue) > 0) AND (char_length(queue) < 128)))
);

CREATE SEQUENCE public.river_job_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.river_job_id_seq OWNED BY public.river_job.id;

CREATE UNLOGGED TABLE public.river_leader (
    elected_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    leader_id text NOT NULL,
    name text DEFAULT 'default'::text NOT NULL,
    CONSTRAINT leader_id_length CHECK (((char_length(leader_id) > 0) AND (char_length(leader_id) < 128))),
    CONSTRAINT name_length CHECK ((name = 'default'::text))
);

CREATE TABLE public.river_migration (
    line text NOT NULL,
    version bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT line_length CHECK (((char_length(line) > 0) AND (char_length(line) < 128))),
    CONSTRAINT version_gte_1 CHECK ((version >= 1))
);

CREATE TABLE public.river_notification (
    id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    payload text NOT NULL,
    topic text NOT NULL,
    CONSTRAINT topic_length CHECK (((length(topic) > 0) AND (length(topic) < 128)))
);

CREATE SEQUENCE public.river_notification_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.river_notification_id_seq OWNED BY public.river_notification.id;

CREATE TABLE public.river_queue (
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    paused_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL
);

CREATE TABLE public.schema_migrations (
    version character varying NOT NULL
);

CREATE TABLE public.task_counts (
    organization_id bigint NOT NULL,
    assignee_id bigint NOT NULL,
    is_done boolean NOT NULL,
    slot smallint NOT NULL,
    n bigint NOT NULL
);

ALTER TABLE ONLY public.task_counts FORCE ROW LEVEL SECURITY;

CREATE TABLE public.tasks (
    id bigint NOT NULL,
    organization_id bigint NOT NULL,
    deal_id bigint NOT NULL,
    title text NOT NULL,
    description text,
    due_date date,
    is_done boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    assignee_id bigint NOT NULL,
    completed_at timestamp with time zone,
    deleted_at timestamp with time zone,
    deleted_by_type text,
    deleted_by_id bigint,
    with_deal boolean DEFAULT false NOT NULL,
    CONSTRAINT tasks_completed_check CHECK (((completed_at IS NOT NULL) = is_done)),
    CONSTRAINT tasks_deleted_by_check CHECK (((deleted_at IS NULL) = (deleted_by_type IS NULL))),
    CONSTRAINT tasks_deleted_by_type_check CHECK ((deleted_by_type = ANY (ARRAY['user'::text, 'api_key'::text, 'system'::text]))),
    CONSTRAINT tasks_description_check CHECK ((length(description) <= 5000)),
    CONSTRAINT tasks_title_check CHECK ((((length(title) >= 1) AND (length(title) <= 200)) AND (btrim(title) <> ''::text))),
    CONSTRAINT tasks_with_deal_check CHECK (((NOT with_deal) OR (deleted_at IS NOT NULL)))
);

ALTER TABLE ONLY public.tasks FORCE ROW LEVEL SECURITY;

ALTER TABLE public.tasks ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.tasks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.trash_items (
    organization_id bigint NOT NULL,
    object text NOT NULL,
    id bigint NOT NULL,
    name text NOT NULL,
    deleted_at timestamp with time zone NOT NULL,
    deleted_by_type text NOT NULL,
    deleted_by_id bigint,
    purge_at timestamp with time zone NOT NULL,
    CONSTRAINT trash_items_deleted_by_type_check CHECK ((deleted_by_type = ANY (ARRAY['user'::text, 'api_key'::text, 'system'::text]))),
    CONSTRAINT trash_items_object_check CHECK ((object = ANY (ARRAY['contact'::text, 'deal'::text, 'task'::text])))
);

ALTER TABLE ONLY public.trash_items FORCE ROW LEVEL SECURITY;

CREATE TABLE public.users (
    id bigint NOT NULL,
    email text NOT NULL,
    password_hash text NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT users_email_check CHECK (((email <> ''::text) AND (length(email) <= 254))),
    CONSTRAINT users_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

ALTER TABLE public.users ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.users_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.webhook_deliveries (
    organization_id bigint NOT NULL,
    id bigint NOT NULL,
    endpoint_id bigint NOT NULL,
    event_id bigint NOT NULL,
    event_type text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    last_attempt_at timestamp with time zone,
    next_attempt_at timestamp with time zone,
    response_status integer,
    duration_ms integer,
    error text,
    response_body bytea,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    generation integer DEFAULT 0 NOT NULL,
    in_flight_until timestamp with time zone,
    CONSTRAINT webhook_deliveries_error_check CHECK ((error = ANY (ARRAY['timeout'::text, 'connection_failed'::text, 'destination_not_allowed'::text, 'tls_error'::text, 'http_status'::text, 'redirect'::text]))),
    CONSTRAINT webhook_deliveries_response_body_check CHECK ((length(response_body) <= 1024)),
    CONSTRAINT webhook_deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'succeeded'::text, 'failed'::text])))
);

ALTER TABLE ONLY public.webhook_deliveries FORCE ROW LEVEL SECURITY;

ALTER TABLE public.webhook_deliveries ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_deliveries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.webhook_endpoint_slots (
    organization_id bigint NOT NULL,
    endpoint_id bigint NOT NULL,
    slot smallint NOT NULL,
    leased_until timestamp with time zone DEFAULT '-infinity'::timestamp with time zone NOT NULL,
    CONSTRAINT webhook_endpoint_slots_slot_check CHECK (((slot >= 1) AND (slot <= 5)))
);

ALTER TABLE ONLY public.webhook_endpoint_slots FORCE ROW LEVEL SECURITY;

CREATE TABLE public.webhook_endpoints (
    organization_id bigint NOT NULL,
    id bigint NOT NULL,
    url text NOT NULL,
    events text[] NOT NULL,
    description text,
    enabled boolean DEFAULT true NOT NULL,
    disabled_reason text,
    secret bytea NOT NULL,
    previous_secret bytea,
    previous_secret_expires_at timestamp with time zone,
    failing_since timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT webhook_endpoints_check CHECK (((previous_secret IS NULL) = (previous_secret_expires_at IS NULL))),
    CONSTRAINT webhook_endpoints_description_check CHECK ((length(description) <= 500)),
    CONSTRAINT webhook_endpoints_events_check CHECK ((cardinality(events) >= 1)),
    CONSTRAINT webhook_endpoints_url_check CHECK (((length(url) >= 1) AND (length(url) <= 2048)))
);

ALTER TABLE ONLY public.webhook_endpoints FORCE ROW LEVEL SECURITY;

ALTER TABLE public.webhook_endpoints ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_endpoints_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY public.events ALTER COLUMN id SET DEFAULT nextval('public.events_id_seq'::regclass);

ALTER TABLE ONLY public.river_job ALTER COLUMN id SET DEFAULT nextval('public.river_job_id_seq'::regclass);

ALTER TABLE ONLY public.river_notification ALTER COLUMN id SET DEFAULT nextval('public.river_notification_id_seq'::regclass);

ALTER TABLE ONLY public.activities
    ADD CONSTRAINT activities_organization_id_id_key UNIQUE (organization_id, id);

ALTER TABLE ONLY public.activities
    ADD CONSTRAINT activities_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.analytics_deal_paths
    ADD CONSTRAINT analytics_deal_paths_pkey PRIMARY KEY (organization_id, pipeline_id, stages, slot);

ALTER TABLE ONLY public.analytics_deal_totals
    ADD CONSTRAINT analytics_deal_totals_pkey PRIMARY KEY (organization_id, pipeline_id, status, stage, max_stage, currency, slot);

ALTER TABLE ONLY public.analytics_deals_created
    ADD CONSTRAINT analytics_deals_created_pkey PRIMARY KEY (organization_id, day, slot);

ALTER TABLE ONLY public.analytics_deals_open
    ADD CONSTRAINT analytics_deals_open_pkey PRIMARY KEY (organization_id, pipeline_id, month, stage, currency, overridden, slot);

ALTER TABLE ONLY public.analytics_deals_won
    ADD CONSTRAINT analytics_deals_won_pkey PRIMARY KEY (organization_id, pipeline_id, day, currency, slot);

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.contact_counts
    ADD CONSTRAINT contact_counts_pkey PRIMARY KEY (organization_id, owner_id, slot);

ALTER TABLE ONLY public.contact_history
    ADD CONSTRAINT contact_history_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.contact_search
    ADD CONSTRAINT contact_search_pkey PRIMARY KEY (organization_id, contact_id);

ALTER TABLE ONLY public.contact_tags
    ADD CONSTRAINT contact_tags_pkey PRIMARY KEY (organization_id, tag, contact_id);

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_organization_id_id_key UNIQUE (organization_id, id);

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.deal_counts_org
    ADD CONSTRAINT deal_counts_org_pkey PRIMARY KEY (organization_id, slot);

ALTER TABLE ONLY public.deal_counts
    ADD CONSTRAINT deal_counts_pkey PRIMARY KEY (organization_id, pipeline_id, stage, status, owner_id, slot);

ALTER TABLE ONLY public.deal_stage_history
    ADD CONSTRAINT deal_stage_history_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.deal_visit_days
    ADD CONSTRAINT deal_visit_days_pkey PRIMARY KEY (organization_id, pipeline_id, day, stage, bucket, slot);

ALTER TABLE ONLY public.deal_visit_months
    ADD CONSTRAINT deal_visit_months_pkey PRIMARY KEY (organization_id, pipeline_id, month, stage, bucket, slot);

ALTER TABLE ONLY public.deals
    ADD CONSTRAINT deals_organization_id_id_key UNIQUE (organization_id, id);

ALTER TABLE ONLY public.deals
    ADD CONSTRAINT deals_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.event_sequencer
    ADD CONSTRAINT event_sequencer_pkey PRIMARY KEY (only_row);

ALTER TABLE ONLY public.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, organization_id, api_key_id, key);

ALTER TABLE ONLY public.import_uploads
    ADD CONSTRAINT import_uploads_pkey PRIMARY KEY (organization_id, import_id);

ALTER TABLE ONLY public.imports
    ADD CONSTRAINT imports_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.organization_members
    ADD CONSTRAINT organization_members_pkey PRIMARY KEY (organization_id, user_id);

ALTER TABLE ONLY public.organizations
    ADD CONSTRAINT organizations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_key_key UNIQUE (organization_id, pipeline_id, key);

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_position_key UNIQUE (organization_id, pipeline_id, "position") DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.pipelines
    ADD CONSTRAINT pipelines_name_key UNIQUE (organization_id, name);

ALTER TABLE ONLY public.pipelines
    ADD CONSTRAINT pipelines_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.pipelines
    ADD CONSTRAINT pipelines_position_key UNIQUE (organization_id, "position") DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.refresh_tokens
    ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.river_job
    ADD CONSTRAINT river_job_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.river_leader
    ADD CONSTRAINT river_leader_pkey PRIMARY KEY (name);

ALTER TABLE ONLY public.river_migration
    ADD CONSTRAINT river_migration_pkey1 PRIMARY KEY (line, version);

ALTER TABLE ONLY public.river_notification
    ADD CONSTRAINT river_notification_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.river_queue
    ADD CONSTRAINT river_queue_pkey PRIMARY KEY (name);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.task_counts
    ADD CONSTRAINT task_counts_pkey PRIMARY KEY (organization_id, assignee_id, is_done, slot);

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_organization_id_id_key UNIQUE (organization_id, id);

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.trash_items
    ADD CONSTRAINT trash_items_pkey PRIMARY KEY (organization_id, object, id);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (organization_id, id);

ALTER TABLE ONLY public.webhook_endpoint_slots
    ADD CONSTRAINT webhook_endpoint_slots_pkey PRIMARY KEY (organization_id, endpoint_id, slot);

ALTER TABLE ONLY public.webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (organization_id, id);

CREATE INDEX activities_deal_idx ON public.activities USING btree (organization_id, deal_id, created_at DESC, id DESC);

CREATE INDEX api_keys_creator_idx ON public.api_keys USING btree (organization_id, created_by) WHERE (revoked_at IS NULL);

CREATE INDEX api_keys_list_idx ON public.api_keys USING btree (organization_id, created_at, id);

CREATE UNIQUE INDEX api_keys_token_hash_idx ON public.api_keys USING btree (token_hash, organization_id);

CREATE INDEX contact_history_contact_idx ON public.contact_history USING btree (organization_id, contact_id, changed_at DESC, id DESC);

CREATE INDEX contact_search_doc_idx ON public.contact_search USING gin (organization_id, doc public.gin_trgm_ops);

CREATE INDEX contact_tags_contact_idx ON public.contact_tags USING btree (organization_id, contact_id);

CREATE INDEX contacts_email_key_idx ON public.contacts USING btree (organization_id, public.contacts_email_key(email), id) WHERE (email IS NOT NULL);

CREATE INDEX contacts_list_idx ON public.contacts USING btree (organization_id, created_at DESC, id DESC);

CREATE INDEX contacts_name_idx ON public.contacts USING btree (organization_id, lower(name), id);

CREATE INDEX contacts_owner_idx ON public.contacts USING btree (organization_id, owner_id, created_at DESC, id DESC);

CREATE INDEX contacts_phone_digits_idx ON public.contacts USING btree (organization_id, public.contacts_phone_digits(phone), id) WHERE (length(public.contacts_phone_digits(phone)) >= 7);

CREATE INDEX contacts_search_doc_idx ON public.contacts USING gin (organization_id, search_doc public.gin_trgm_ops);

CREATE INDEX contacts_tags_idx ON public.contacts USING gin (organization_id, tags);

CREATE INDEX contacts_updated_idx ON public.contacts USING btree (organization_id, updated_at, id);

CREATE INDEX deal_stage_history_bucket_idx ON public.deal_stage_history USING btree (organization_id, pipeline_id, stage, public.deals_visit_bucket(entered_at, left_at), left_at) INCLUDE (entered_at) WHERE ((left_at IS NOT NULL) AND (NOT trashed));

CREATE INDEX deal_stage_history_deal_idx ON public.deal_stage_history USING btree (organization_id, deal_id, entered_at, id);

CREATE INDEX deal_stage_history_ended_idx ON public.deal_stage_history USING btree (organization_id, pipeline_id, left_at) INCLUDE (stage, entered_at) WHERE ((left_at IS NOT NULL) AND (NOT trashed));

CREATE UNIQUE INDEX deal_stage_history_open_idx ON public.deal_stage_history USING btree (organization_id, deal_id) WHERE (left_at IS NULL);

CREATE INDEX deal_stage_history_stage_idx ON public.deal_stage_history USING btree (organization_id, pipeline_id, stage, deal_id);

CREATE INDEX deal_stage_history_visited_idx ON public.deal_stage_history USING btree (organization_id, deal_id, pipeline_id) INCLUDE (stage);

CREATE INDEX deals_amount_idx ON public.deals USING btree (organization_id, amount, id);

CREATE INDEX deals_contact_idx ON public.deals USING btree (organization_id, contact_id, created_at DESC, id DESC);

CREATE INDEX deals_created_idx ON public.deals USING btree (organization_id, created_at DESC, id DESC);

CREATE INDEX deals_expected_close_idx ON public.deals USING btree (organization_id, expected_close_date, id);

CREATE INDEX deals_expected_close_order_idx ON public.deals USING btree (organization_id, COALESCE(expected_close_date, 'infinity'::date), id);

CREATE INDEX deals_owner_idx ON public.deals USING btree (organization_id, owner_id, created_at DESC, id DESC);

CREATE INDEX deals_pipeline_created_idx ON public.deals USING btree (organization_id, pipeline_id, created_at);

CREATE INDEX deals_pipeline_idx ON public.deals USING btree (organization_id, pipeline_id, stage, created_at DESC, id DESC);

CREATE INDEX deals_stage_idx ON public.deals USING btree (organization_id, stage, created_at DESC, id DESC);

CREATE INDEX deals_status_idx ON public.deals USING btree (organization_id, status, created_at DESC, id DESC);

CREATE INDEX deals_title_idx ON public.deals USING btree (organization_id, title, id);

CREATE INDEX deals_title_trgm_idx ON public.deals USING gin (organization_id, title public.gin_trgm_ops);

CREATE INDEX deals_updated_idx ON public.deals USING btree (organization_id, updated_at DESC, id DESC);

CREATE INDEX deals_won_closed_idx ON public.deals USING btree (organization_id, closed_at) WHERE (status = 'won'::text);

CREATE INDEX deals_won_pipeline_closed_idx ON public.deals USING btree (organization_id, pipeline_id, closed_at) INCLUDE (created_at, deleted_at) WHERE (status = 'won'::text);

CREATE UNIQUE INDEX events_feed ON public.events USING btree (organization_id, "position") WHERE ("position" IS NOT NULL);

CREATE INDEX events_occurred ON public.events USING brin (occurred_at);

CREATE INDEX events_unsequenced ON public.events USING btree (id) WHERE ("position" IS NULL);

CREATE INDEX idempotency_keys_created_idx ON public.idempotency_keys USING btree (created_at);

CREATE INDEX imports_list_idx ON public.imports USING btree (organization_id, created_at, id);

CREATE INDEX imports_queued_idx ON public.imports USING btree (organization_id) WHERE (status = 'queued'::text);

CREATE INDEX invitations_list_idx ON public.invitations USING btree (organization_id, created_at, id);

CREATE INDEX invitations_open_email_idx ON public.invitations USING btree (lower(email), organization_id) WHERE ((accepted_at IS NULL) AND (revoked_at IS NULL));

CREATE INDEX invitations_open_inviter_idx ON public.invitations USING btree (organization_id, invited_by) WHERE ((accepted_at IS NULL) AND (revoked_at IS NULL));

CREATE UNIQUE INDEX invitations_token_hash_idx ON public.invitations USING btree (token_hash, organization_id);

CREATE INDEX organization_members_user_idx ON public.organization_members USING btree (user_id);

CREATE INDEX pipelines_list_idx ON public.pipelines USING btree (organization_id, "position", id);

CREATE UNIQUE INDEX pipelines_one_default_idx ON public.pipelines USING btree (organization_id) WHERE is_default;

CREATE INDEX refresh_tokens_family_idx ON public.refresh_tokens USING btree (family_id);

CREATE UNIQUE INDEX refresh_tokens_hash_key ON public.refresh_tokens USING btree (token_hash);

CREATE INDEX refresh_tokens_user_idx ON public.refresh_tokens USING btree (user_id) WHERE (revoked_at IS NULL);

CREATE INDEX river_job_args_index ON public.river_job USING gin (args);

CREATE INDEX river_job_kind ON public.river_job USING btree (kind);

CREATE INDEX river_job_metadata_index ON public.river_job USING gin (metadata);

CREATE INDEX river_job_prioritized_fetching_index ON public.river_job USING btree (state, queue, priority, scheduled_at, id);

CREATE INDEX river_job_state_and_finalized_at_index ON public.river_job USING btree (state, finalized_at) WHERE (finalized_at IS NOT NULL);

CREATE UNIQUE INDEX river_job_unique_idx ON public.river_job USING btree (unique_key) WHERE ((unique_key IS NOT NULL) AND (unique_states IS NOT NULL) AND public.river_job_state_in_bitmask(unique_states, state));

CREATE INDEX river_notification_created_at_idx ON public.river_notification USING btree (created_at);

CREATE INDEX river_notification_topic_id_idx ON public.river_notification USING btree (topic, id);

CREATE INDEX tasks_assignee_idx ON public.tasks USING btree (organization_id, assignee_id, COALESCE(due_date, 'infinity'::date), id);

CREATE INDEX tasks_assignee_open_idx ON public.tasks USING btree (organization_id, assignee_id, COALESCE(due_date, 'infinity'::date), id) WHERE (NOT is_done);

CREATE INDEX tasks_created_idx ON public.tasks USING btree (organization_id, created_at, id);

CREATE INDEX tasks_deal_idx ON public.tasks USING btree (organization_id, deal_id, COALESCE(due_date, 'infinity'::date), id);

CREATE INDEX tasks_due_idx ON public.tasks USING btree (organization_id, COALESCE(due_date, 'infinity'::date), id);

CREATE INDEX tasks_open_idx ON public.tasks USING btree (organization_id, COALESCE(due_date, 'infinity'::date), id) WHERE (NOT is_done);

CREATE INDEX tasks_updated_idx ON public.tasks USING btree (organization_id, updated_at, id);

CREATE INDEX tasks_with_deal_idx ON public.tasks USING btree (organization_id, deal_id) WHERE with_deal;

CREATE INDEX trash_items_list_idx ON public.trash_items USING btree (organization_id, deleted_at, object, id);

CREATE INDEX trash_items_purge_idx ON public.trash_items USING btree (purge_at);

CREATE INDEX trash_items_type_idx ON public.trash_items USING btree (organization_id, object, deleted_at, id);

CREATE UNIQUE INDEX users_email_key ON public.users USING btree (lower(email));

CREATE INDEX webhook_deliveries_finished_idx ON public.webhook_deliveries USING btree (created_at) WHERE (status <> 'pending'::text);

CREATE INDEX webhook_deliveries_list_idx ON public.webhook_deliveries USING btree (organization_id, endpoint_id, created_at DESC, id DESC);

CREATE INDEX webhook_deliveries_pending_idx ON public.webhook_deliveries USING btree (organization_id, endpoint_id) WHERE (status = 'pending'::text);

CREATE INDEX webhook_endpoints_list_idx ON public.webhook_endpoints USING btree (organization_id, created_at DESC, id DESC);

CREATE TRIGGER contact_counts_delete AFTER DELETE ON public.contacts REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.contact_counts_remove();

CREATE TRIGGER contact_counts_insert AFTER INSERT ON public.contacts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.contact_counts_add();

CREATE TRIGGER contact_counts_update AFTER UPDATE ON public.contacts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.contact_counts_move();

CREATE TRIGGER contact_search_insert AFTER INSERT ON public.contacts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.contact_search_add();

CREATE TRIGGER contact_search_update AFTER UPDATE ON public.contacts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.contact_search_move();

CREATE TRIGGER contact_tags_insert AFTER INSERT ON public.contacts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.contact_tags_add();

CREATE TRIGGER contact_tags_update AFTER UPDATE ON public.contacts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.contact_tags_move();

CREATE TRIGGER deal_counts_delete AFTER DELETE ON public.deals REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.deal_counts_remove();

CREATE TRIGGER deal_counts_insert AFTER INSERT ON public.deals REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.deal_counts_add();

CREATE TRIGGER deal_counts_update AFTER UPDATE ON public.deals REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.deal_counts_move();

CREATE TRIGGER deal_visit_days_delete AFTER DELETE ON public.deal_stage_history REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.deal_visit_days_delete();

CREATE TRIGGER deal_visit_days_insert AFTER INSERT ON public.deal_stage_history REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.deal_visit_days_insert();

CREATE TRIGGER deal_visit_days_update AFTER UPDATE ON public.deal_stage_history REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.deal_visit_days_update();

CREATE TRIGGER deals_fill_defaults BEFORE INSERT ON public.deals FOR EACH ROW EXECUTE FUNCTION public.deals_fill_defaults();

CREATE TRIGGER deals_first_visit AFTER INSERT ON public.deals REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.deals_first_visits();

CREATE TRIGGER organization_members_changed AFTER INSERT OR DELETE OR UPDATE ON public.organization_members FOR EACH ROW EXECUTE FUNCTION public.orgs_memberships_changed();

CREATE TRIGGER organizations_changed AFTER DELETE OR UPDATE ON public.organizations FOR EACH ROW EXECUTE FUNCTION public.orgs_memberships_changed();

CREATE TRIGGER task_counts_delete AFTER DELETE ON public.tasks REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.task_counts_remove();

CREATE TRIGGER task_counts_insert AFTER INSERT ON public.tasks REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.task_counts_add();

CREATE TRIGGER task_counts_update AFTER UPDATE ON public.tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.task_counts_move();

CREATE TRIGGER tasks_fill_defaults BEFORE INSERT OR UPDATE ON public.tasks FOR EACH ROW EXECUTE FUNCTION public.tasks_fill_defaults();

ALTER TABLE ONLY public.activities
    ADD CONSTRAINT activities_deal_fkey FOREIGN KEY (organization_id, deal_id) REFERENCES public.deals(organization_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.analytics_deal_paths
    ADD CONSTRAINT analytics_deal_paths_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.analytics_deal_totals
    ADD CONSTRAINT analytics_deal_totals_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.analytics_deals_created
    ADD CONSTRAINT analytics_deals_created_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.analytics_deals_open
    ADD CONSTRAINT analytics_deals_open_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.analytics_deals_won
    ADD CONSTRAINT analytics_deals_won_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.contact_counts
    ADD CONSTRAINT contact_counts_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.contact_history
    ADD CONSTRAINT contact_history_contact_fkey FOREIGN KEY (organization_id, contact_id) REFERENCES public.contacts(organization_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.contact_history
    ADD CONSTRAINT contact_history_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.contact_search
    ADD CONSTRAINT contact_search_organization_id_contact_id_fkey FOREIGN KEY (organization_id, contact_id) REFERENCES public.contacts(organization_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.contact_tags
    ADD CONSTRAINT contact_tags_organization_id_contact_id_fkey FOREIGN KEY (organization_id, contact_id) REFERENCES public.contacts(organization_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_owner_fkey FOREIGN KEY (organization_id, owner_id) REFERENCES public.organization_members(organization_id, user_id);

ALTER TABLE ONLY public.deal_counts_org
    ADD CONSTRAINT deal_counts_org_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.deal_counts
    ADD CONSTRAINT deal_counts_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.deal_stage_history
    ADD CONSTRAINT deal_stage_history_deal_fkey FOREIGN KEY (organization_id, deal_id) REFERENCES public.deals(organization_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.deal_visit_days
    ADD CONSTRAINT deal_visit_days_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.deal_visit_months
    ADD CONSTRAINT deal_visit_months_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.deals
    ADD CONSTRAINT deals_contact_fkey FOREIGN KEY (organization_id, contact_id) REFERENCES public.contacts(organization_id, id);

ALTER TABLE ONLY public.deals
    ADD CONSTRAINT deals_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.deals
    ADD CONSTRAINT deals_owner_fkey FOREIGN KEY (organization_id, owner_id) REFERENCES public.organization_members(organization_id, user_id);

ALTER TABLE ONLY public.deals
    ADD CONSTRAINT deals_pipeline_fkey FOREIGN KEY (organization_id, pipeline_id) REFERENCES public.pipelines(organization_id, id);

ALTER TABLE ONLY public.import_uploads
    ADD CONSTRAINT import_uploads_organization_id_import_id_fkey FOREIGN KEY (organization_id, import_id) REFERENCES public.imports(organization_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.imports
    ADD CONSTRAINT imports_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.imports
    ADD CONSTRAINT imports_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_accepted_by_fkey FOREIGN KEY (accepted_by) REFERENCES public.users(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_invited_by_fkey FOREIGN KEY (invited_by) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.organization_members
    ADD CONSTRAINT organization_members_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.organization_members
    ADD CONSTRAINT organization_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.pipeline_stages
    ADD CONSTRAINT pipeline_stages_pipeline_fkey FOREIGN KEY (organization_id, pipeline_id) REFERENCES public.pipelines(organization_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.pipelines
    ADD CONSTRAINT pipelines_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.refresh_tokens
    ADD CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.task_counts
    ADD CONSTRAINT task_counts_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_assignee_fkey FOREIGN KEY (organization_id, assignee_id) REFERENCES public.organization_members(organization_id, user_id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_deal_fkey FOREIGN KEY (organization_id, deal_id) REFERENCES public.deals(organization_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.trash_items
    ADD CONSTRAINT trash_items_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_organization_id_endpoint_id_fkey FOREIGN KEY (organization_id, endpoint_id) REFERENCES public.webhook_endpoints(organization_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_endpoint_slots
    ADD CONSTRAINT webhook_endpoint_slots_organization_id_endpoint_id_fkey FOREIGN KEY (organization_id, endpoint_id) REFERENCES public.webhook_endpoints(organization_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE public.activities ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.analytics_deal_paths ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.analytics_deal_totals ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.analytics_deals_created ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.analytics_deals_open ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.analytics_deals_won ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.api_keys ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.contact_counts ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.contact_history ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.contact_search ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.contact_tags ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.contacts ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.deal_counts ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.deal_counts_org ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.deal_stage_history ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.deal_visit_days ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.deal_visit_months ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.deals ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.events ENABLE ROW LEVEL SECURITY;

CREATE POLICY expired_sweep_delete ON public.idempotency_keys FOR DELETE USING (((current_setting('app.sweep_expired_keys'::text, true) = 'on'::text) AND (created_at < (now() - '24:00:00'::interval))));

CREATE POLICY expired_sweep_select ON public.idempotency_keys FOR SELECT USING (((current_setting('app.sweep_expired_keys'::text, true) = 'on'::text) AND (created_at < (now() - '24:00:00'::interval))));

ALTER TABLE public.idempotency_keys ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.import_uploads ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.imports ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.invitations ENABLE ROW LEVEL SECURITY;

CREATE POLICY invitee_lookup ON public.invitations FOR SELECT USING ((lower(email) = NULLIF(current_setting('app.invitee_email'::text, true), ''::text)));

CREATE POLICY live_rows ON public.contacts AS RESTRICTIVE FOR SELECT USING (((deleted_at IS NULL) OR (current_setting('app.include_trashed'::text, true) = 'on'::text)));

CREATE POLICY live_rows ON public.deals AS RESTRICTIVE FOR SELECT USING (((deleted_at IS NULL) OR (current_setting('app.include_trashed'::text, true) = 'on'::text)));

CREATE POLICY live_rows ON public.tasks AS RESTRICTIVE FOR SELECT USING (((deleted_at IS NULL) OR (current_setting('app.include_trashed'::text, true) = 'on'::text)));

CREATE POLICY organization_erasure_delete ON public.idempotency_keys FOR DELETE USING (((current_setting('app.erase_organization'::text, true) = 'on'::text) AND (organization_id = public.current_organization_id())));

CREATE POLICY organization_erasure_select ON public.idempotency_keys FOR SELECT USING (((current_setting('app.erase_organization'::text, true) = 'on'::text) AND (organization_id = public.current_organization_id())));

ALTER TABLE public.organization_members ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.pipeline_stages ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.pipelines ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.task_counts ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.tasks ENABLE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON public.activities USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.analytics_deal_paths USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.analytics_deal_totals USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.analytics_deals_created USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.analytics_deals_open USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.analytics_deals_won USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.api_keys USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.contact_counts USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.contact_history USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.contact_search USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.contact_tags USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.contacts USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.deal_counts USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.deal_counts_org USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.deal_stage_history USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.deal_visit_days USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.deal_visit_months USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.deals USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.events USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.idempotency_keys USING (((organization_id = COALESCE(public.current_organization_id(), (0)::bigint)) AND (user_id = COALESCE(public.current_app_user_id(), (0)::bigint)) AND (api_key_id = COALESCE(public.current_api_key_id(), (0)::bigint)))) WITH CHECK (((organization_id = COALESCE(public.current_organization_id(), (0)::bigint)) AND (user_id = COALESCE(public.current_app_user_id(), (0)::bigint)) AND (api_key_id = COALESCE(public.current_api_key_id(), (0)::bigint))));

CREATE POLICY tenant_isolation ON public.import_uploads USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.imports USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.invitations USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.organization_members USING (((organization_id = public.current_organization_id()) OR (user_id = public.current_app_user_id()))) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.pipeline_stages USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.pipelines USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.task_counts USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.tasks USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.trash_items USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.webhook_deliveries USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.webhook_endpoint_slots USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.webhook_endpoints USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY token_lookup ON public.api_keys FOR SELECT USING ((token_hash = decode(NULLIF(current_setting('app.api_key_hash'::text, true), ''::text), 'hex'::text)));

CREATE POLICY token_lookup ON public.invitations FOR SELECT USING ((token_hash = decode(NULLIF(current_setting('app.invitation_token_hash'::text, true), ''::text), 'hex'::text)));

ALTER TABLE public.trash_items ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.webhook_deliveries ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.webhook_endpoint_slots ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.webhook_endpoints ENABLE ROW LEVEL SECURITY;

