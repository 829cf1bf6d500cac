-- migrate:up
-- Every change of a membership, and every change of an organization (closing it among them),
-- tells every process of the service to forget the roles it cached for that organization: a
-- notification on the cache bus's channel, sent in the changing transaction and so delivered
-- when (and only if) it commits. Being triggers, they cover every way a membership changes,
-- a user deleted with their memberships included.
CREATE FUNCTION orgs_memberships_changed() RETURNS trigger
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

CREATE TRIGGER organization_members_changed
    AFTER INSERT OR UPDATE OR DELETE ON organization_members
    FOR EACH ROW EXECUTE FUNCTION orgs_memberships_changed();

CREATE TRIGGER organizations_changed
    AFTER UPDATE OR DELETE ON organizations
    FOR EACH ROW EXECUTE FUNCTION orgs_memberships_changed();

-- migrate:down
DROP TRIGGER organizations_changed ON organizations;
DROP TRIGGER organization_members_changed ON organization_members;
DROP FUNCTION orgs_memberships_changed();
