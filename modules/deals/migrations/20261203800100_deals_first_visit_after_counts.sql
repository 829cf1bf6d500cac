-- migrate:up
-- Writers of one organization meet on the rows of its kept counts (deal_counts and
-- deal_counts_org) and of the velocity read model (deal_visit_days and deal_visit_months),
-- and every write took them in the order counts, then velocity (a PATCH updates the deal,
-- then the stage history; a move to the trash the same), except a new deal: its first visit
-- was inserted by a row trigger, and row triggers fire before statement triggers, so a new
-- closed deal wrote the velocity rows first and the counts after. Two such transactions
-- could wait on each other until PostgreSQL aborted one as a deadlock victim. The first
-- visit is now inserted by a statement trigger, and statement triggers of one event fire in
-- the order of their names: deal_counts_insert, then deals_first_visit. It also makes one
-- insert of the history per statement instead of one per row (a bulk insert or a COPY).
DROP TRIGGER deals_first_visit ON deals;
DROP FUNCTION deals_first_visit();

CREATE FUNCTION deals_first_visits() RETURNS trigger
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
CREATE TRIGGER deals_first_visit AFTER INSERT ON deals
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION deals_first_visits();

-- migrate:down
DROP TRIGGER deals_first_visit ON deals;
DROP FUNCTION deals_first_visits();
CREATE FUNCTION deals_first_visit() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO deal_stage_history (organization_id, deal_id, pipeline_id, stage, entered_at, left_at)
    VALUES (NEW.organization_id, NEW.id, NEW.pipeline_id, NEW.stage, NEW.stage_entered_at,
            CASE WHEN NEW.status IN ('won', 'lost') THEN greatest(NEW.closed_at, NEW.stage_entered_at) END);
    RETURN NULL;
END
$$;
CREATE TRIGGER deals_first_visit AFTER INSERT ON deals
    FOR EACH ROW EXECUTE FUNCTION deals_first_visit();
