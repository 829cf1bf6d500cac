
CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA public;

COMMENT ON EXTENSION btree_gin IS 'support for indexing common datatypes in GIN';

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

COMMENT ON EXTENSION pg_trgm IS 'text similarity measurement and index searching based on trigrams';

CREATE FUNCTION public.analytics_recount(org bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM set_config('app.organization_id', org::text, true);
    DELETE FROM analytics_deal_totals WHERE organization_id = org;
    DELETE FROM analytics_deals_created WHERE organization_id = org;
    INSERT INTO analytics_deal_totals (organization_id, status, stage, max_stage, currency, deals, amount)
    SELECT org, t.status, t.stage, t.max_stage, t.currency, t.deals, t.amount
    FROM deals_pipeline_totals(org) t;
    INSERT INTO analytics_deals_created (organization_id, day, deals)
    SELECT org, c.day, c.deals
    FROM deals_created_per_day(org) c;
    PERFORM set_config('app.organization_id', '', true);
END
$$;

CREATE FUNCTION public.current_app_user_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::bigint $$;

CREATE FUNCTION public.current_organization_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.organization_id', true), '')::bigint $$;

CREATE FUNCTION public.deals_created_per_day(org bigint) RETURNS TABLE(day date, deals bigint)
    LANGUAGE sql STABLE
    AS $$ SELECT (d.created_at AT TIME ZONE 'UTC')::date, count(*)
          FROM deals d
          WHERE d.organization_id = org
          GROUP BY 1 $$;

CREATE FUNCTION public.deals_pipeline_totals(org bigint) RETURNS TABLE(status text, stage smallint, max_stage smallint, currency character, deals bigint, amount numeric)
    LANGUAGE sql STABLE
    AS $$ SELECT d.status, deals_stage_position(d.stage), d.max_stage, d.currency, count(*), sum(d.amount)
          FROM deals d
          WHERE d.organization_id = org
          GROUP BY 1, 2, 3, 4 $$;

CREATE FUNCTION public.deals_stage_position(stage text) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE stage WHEN 'qualification' THEN 1 WHEN 'proposal' THEN 2
                            WHEN 'negotiation' THEN 3 WHEN 'closed' THEN 4 END::smallint $$;

CREATE FUNCTION public.organization_ids() RETURNS SETOF bigint
    LANGUAGE sql STABLE
    AS $$ SELECT id FROM organizations ORDER BY id $$;

CREATE TABLE public.activities (
    id bigint NOT NULL,
    organization_id bigint NOT NULL,
    deal_id bigint NOT NULL,
    author_id bigint,
    type text NOT NULL,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
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

CREATE TABLE public.analytics_deal_totals (
    organization_id bigint NOT NULL,
    status text NOT NULL,
    stage smallint NOT NULL,
    max_stage smallint NOT NULL,
    currency character(3) NOT NULL,
    deals bigint NOT NULL,
    amount numeric(30,2) NOT NULL,
    CONSTRAINT analytics_deal_totals_check CHECK (((max_stage >= stage) AND (max_stage <= 4))),
    CONSTRAINT analytics_deal_totals_stage_check CHECK (((stage >= 1) AND (stage <= 4))),
    CONSTRAINT analytics_deal_totals_status_check CHECK ((status = ANY (ARRAY['new'::text, 'in_progress'::text, 'won'::text, 'lost'::text])))
);

ALTER TABLE ONLY public.analytics_deal_totals FORCE ROW LEVEL SECURITY;

CREATE TABLE public.analytics_deals_created (
    organization_id bigint NOT NULL,
    day date NOT NULL,
    deals bigint NOT NULL
);

ALTER TABLE ONLY public.analytics_deals_created FORCE ROW LEVEL SECURITY;

CREATE TABLE public.contacts (
    id bigint NOT NULL,
    organization_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    name text NOT NULL,
    email text,
    phone text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT contacts_email_check CHECK (((length(email) >= 3) AND (length(email) <= 254))),
    CONSTRAINT contacts_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT contacts_phone_check CHECK ((phone ~ '^[0-9 +()-]{1,32}$'::text))
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
    CONSTRAINT deals_amount_check CHECK ((amount >= (0)::numeric)),
    CONSTRAINT deals_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT deals_lost_reason_check CHECK (((length(lost_reason) >= 1) AND (length(lost_reason) <= 1000))),
    CONSTRAINT deals_max_stage_check CHECK (((max_stage >= 1) AND (max_stage <= 4))),
    CONSTRAINT deals_max_stage_reached CHECK ((max_stage >= public.deals_stage_position(stage))),
    CONSTRAINT deals_stage_check CHECK ((stage = ANY (ARRAY['qualification'::text, 'proposal'::text, 'negotiation'::text, 'closed'::text]))),
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

CREATE TABLE public.idempotency_keys (
    user_id bigint NOT NULL,
    organization_id bigint NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    status integer,
    headers jsonb,
    body bytea,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT idempotency_keys_key_check CHECK (((length(key) >= 1) AND (length(key) <= 255)))
);

ALTER TABLE ONLY public.idempotency_keys FORCE ROW LEVEL SECURITY;

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
    CONSTRAINT organizations_default_currency_check CHECK ((default_currency ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT organizations_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

ALTER TABLE public.organizations ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.organizations_id_seq
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

CREATE TABLE public.schema_migrations (
    version character varying NOT NULL
);

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
    CONSTRAINT tasks_description_check CHECK ((length(description) <= 5000)),
    CONSTRAINT tasks_title_check CHECK ((((length(title) >= 1) AND (length(title) <= 200)) AND (btrim(title) <> ''::text)))
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

ALTER TABLE ONLY public.activities
    ADD CONSTRAINT activities_organization_id_id_key UNIQUE (organization_id, id);

ALTER TABLE ONLY public.activities
    ADD CONSTRAINT activities_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.analytics_deal_totals
    ADD CONSTRAINT analytics_deal_totals_pkey PRIMARY KEY (organization_id, status, stage, max_stage, currency);

ALTER TABLE ONLY public.analytics_deals_created
    ADD CONSTRAINT analytics_deals_created_pkey PRIMARY KEY (organization_id, day);

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_organization_id_id_key UNIQUE (organization_id, id);

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.deals
    ADD CONSTRAINT deals_organization_id_id_key UNIQUE (organization_id, id);

ALTER TABLE ONLY public.deals
    ADD CONSTRAINT deals_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, organization_id, key);

ALTER TABLE ONLY public.organization_members
    ADD CONSTRAINT organization_members_pkey PRIMARY KEY (organization_id, user_id);

ALTER TABLE ONLY public.organizations
    ADD CONSTRAINT organizations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.refresh_tokens
    ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_organization_id_id_key UNIQUE (organization_id, id);

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

CREATE INDEX activities_deal_idx ON public.activities USING btree (organization_id, deal_id, created_at DESC, id DESC);

CREATE INDEX contacts_email_trgm_idx ON public.contacts USING gin (organization_id, email public.gin_trgm_ops);

CREATE INDEX contacts_list_idx ON public.contacts USING btree (organization_id, created_at DESC, id DESC);

CREATE INDEX contacts_name_trgm_idx ON public.contacts USING gin (organization_id, name public.gin_trgm_ops);

CREATE INDEX contacts_owner_idx ON public.contacts USING btree (organization_id, owner_id, created_at DESC, id DESC);

CREATE INDEX deals_amount_idx ON public.deals USING btree (organization_id, amount, id);

CREATE INDEX deals_contact_idx ON public.deals USING btree (organization_id, contact_id, created_at DESC, id DESC);

CREATE INDEX deals_created_idx ON public.deals USING btree (organization_id, created_at DESC, id DESC);

CREATE INDEX deals_owner_idx ON public.deals USING btree (organization_id, owner_id, created_at DESC, id DESC);

CREATE INDEX deals_stage_idx ON public.deals USING btree (organization_id, stage, created_at DESC, id DESC);

CREATE INDEX deals_status_idx ON public.deals USING btree (organization_id, status, created_at DESC, id DESC);

CREATE INDEX deals_title_idx ON public.deals USING btree (organization_id, title, id);

CREATE INDEX deals_updated_idx ON public.deals USING btree (organization_id, updated_at DESC, id DESC);

CREATE INDEX idempotency_keys_created_idx ON public.idempotency_keys USING btree (created_at);

CREATE INDEX organization_members_user_idx ON public.organization_members USING btree (user_id);

CREATE INDEX refresh_tokens_family_idx ON public.refresh_tokens USING btree (family_id);

CREATE UNIQUE INDEX refresh_tokens_hash_key ON public.refresh_tokens USING btree (token_hash);

CREATE INDEX refresh_tokens_user_idx ON public.refresh_tokens USING btree (user_id) WHERE (revoked_at IS NULL);

CREATE INDEX tasks_deal_idx ON public.tasks USING btree (organization_id, deal_id, COALESCE(due_date, 'infinity'::date), id);

CREATE INDEX tasks_due_idx ON public.tasks USING btree (organization_id, COALESCE(due_date, 'infinity'::date), id);

CREATE INDEX tasks_open_idx ON public.tasks USING btree (organization_id, COALESCE(due_date, 'infinity'::date), id) WHERE (NOT is_done);

CREATE UNIQUE INDEX users_email_key ON public.users USING btree (lower(email));

ALTER TABLE ONLY public.activities
    ADD CONSTRAINT activities_deal_fkey FOREIGN KEY (organization_id, deal_id) REFERENCES public.deals(organization_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.analytics_deal_totals
    ADD CONSTRAINT analytics_deal_totals_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.analytics_deals_created
    ADD CONSTRAINT analytics_deals_created_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.contacts
    ADD CONSTRAINT contacts_owner_fkey FOREIGN KEY (organization_id, owner_id) REFERENCES public.organization_members(organization_id, user_id);

ALTER TABLE ONLY public.deals
    ADD CONSTRAINT deals_contact_fkey FOREIGN KEY (organization_id, contact_id) REFERENCES public.contacts(organization_id, id);

ALTER TABLE ONLY public.deals
    ADD CONSTRAINT deals_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.deals
    ADD CONSTRAINT deals_owner_fkey FOREIGN KEY (organization_id, owner_id) REFERENCES public.organization_members(organization_id, user_id);

ALTER TABLE ONLY public.organization_members
    ADD CONSTRAINT organization_members_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.organization_members
    ADD CONSTRAINT organization_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.refresh_tokens
    ADD CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_deal_fkey FOREIGN KEY (organization_id, deal_id) REFERENCES public.deals(organization_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

ALTER TABLE public.activities ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.analytics_deal_totals ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.analytics_deals_created ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.contacts ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.deals ENABLE ROW LEVEL SECURITY;

CREATE POLICY expired_sweep_delete ON public.idempotency_keys FOR DELETE USING (((current_setting('app.sweep_expired_keys'::text, true) = 'on'::text) AND (created_at < (now() - '24:00:00'::interval))));

CREATE POLICY expired_sweep_select ON public.idempotency_keys FOR SELECT USING (((current_setting('app.sweep_expired_keys'::text, true) = 'on'::text) AND (created_at < (now() - '24:00:00'::interval))));

ALTER TABLE public.idempotency_keys ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.organization_members ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.tasks ENABLE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON public.activities USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.analytics_deal_totals USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.analytics_deals_created USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.contacts USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.deals USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.idempotency_keys USING (((organization_id = COALESCE(public.current_organization_id(), (0)::bigint)) AND (user_id = COALESCE(public.current_app_user_id(), (0)::bigint)))) WITH CHECK (((organization_id = COALESCE(public.current_organization_id(), (0)::bigint)) AND (user_id = COALESCE(public.current_app_user_id(), (0)::bigint))));

CREATE POLICY tenant_isolation ON public.organization_members USING (((organization_id = public.current_organization_id()) OR (user_id = public.current_app_user_id()))) WITH CHECK ((organization_id = public.current_organization_id()));

CREATE POLICY tenant_isolation ON public.tasks USING ((organization_id = public.current_organization_id())) WITH CHECK ((organization_id = public.current_organization_id()));

