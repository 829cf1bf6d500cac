-- migrate:up
-- Every deal write adds its deltas to a few rows of the read model, and the writes of one
-- organization share those rows (today's created count, the open deals of a stage, the won
-- deals of today): under concurrent writes the transactions queued on their row locks, and
-- PATCH of a deal's stage lost most of its throughput. Each row is now kept in one of 8 slots
-- chosen by the writer's backend (as deal_counts does), so concurrent writers land on
-- different rows, and readers sum the slots. analytics_recount writes slot 0.
ALTER TABLE analytics_deal_totals ADD COLUMN slot smallint NOT NULL DEFAULT 0 CHECK (slot BETWEEN 0 AND 7);
ALTER TABLE analytics_deal_totals DROP CONSTRAINT analytics_deal_totals_pkey;
ALTER TABLE analytics_deal_totals ADD PRIMARY KEY (organization_id, pipeline_id, status, stage, max_stage, currency, slot);

ALTER TABLE analytics_deals_created ADD COLUMN slot smallint NOT NULL DEFAULT 0 CHECK (slot BETWEEN 0 AND 7);
ALTER TABLE analytics_deals_created DROP CONSTRAINT analytics_deals_created_pkey;
ALTER TABLE analytics_deals_created ADD PRIMARY KEY (organization_id, day, slot);

ALTER TABLE analytics_deals_open ADD COLUMN slot smallint NOT NULL DEFAULT 0 CHECK (slot BETWEEN 0 AND 7);
ALTER TABLE analytics_deals_open DROP CONSTRAINT analytics_deals_open_pkey;
ALTER TABLE analytics_deals_open ADD PRIMARY KEY (organization_id, pipeline_id, month, stage, currency, overridden, slot);

ALTER TABLE analytics_deals_won ADD COLUMN slot smallint NOT NULL DEFAULT 0 CHECK (slot BETWEEN 0 AND 7);
ALTER TABLE analytics_deals_won DROP CONSTRAINT analytics_deals_won_pkey;
ALTER TABLE analytics_deals_won ADD PRIMARY KEY (organization_id, pipeline_id, day, currency, slot);

ALTER TABLE analytics_deal_paths ADD COLUMN slot smallint NOT NULL DEFAULT 0 CHECK (slot BETWEEN 0 AND 7);
ALTER TABLE analytics_deal_paths DROP CONSTRAINT analytics_deal_paths_pkey;
ALTER TABLE analytics_deal_paths ADD PRIMARY KEY (organization_id, pipeline_id, stages, slot);

-- migrate:down
-- Fold the slots back into one row per key before the key loses its slot.
CREATE TEMP TABLE t_totals AS SELECT organization_id, pipeline_id, status, stage, max_stage, currency,
    sum(deals)::bigint AS deals, sum(amount) AS amount FROM analytics_deal_totals GROUP BY 1, 2, 3, 4, 5, 6;
DELETE FROM analytics_deal_totals;
ALTER TABLE analytics_deal_totals DROP CONSTRAINT analytics_deal_totals_pkey;
ALTER TABLE analytics_deal_totals DROP COLUMN slot;
INSERT INTO analytics_deal_totals SELECT * FROM t_totals;
ALTER TABLE analytics_deal_totals ADD PRIMARY KEY (organization_id, pipeline_id, status, stage, max_stage, currency);

CREATE TEMP TABLE t_created AS SELECT organization_id, day, sum(deals)::bigint AS deals FROM analytics_deals_created GROUP BY 1, 2;
DELETE FROM analytics_deals_created;
ALTER TABLE analytics_deals_created DROP CONSTRAINT analytics_deals_created_pkey;
ALTER TABLE analytics_deals_created DROP COLUMN slot;
INSERT INTO analytics_deals_created SELECT * FROM t_created;
ALTER TABLE analytics_deals_created ADD PRIMARY KEY (organization_id, day);

CREATE TEMP TABLE t_open AS SELECT organization_id, pipeline_id, month, stage, currency, overridden,
    sum(deals)::bigint AS deals, sum(amount) AS amount, sum(amount_prob) AS amount_prob FROM analytics_deals_open GROUP BY 1, 2, 3, 4, 5, 6;
DELETE FROM analytics_deals_open;
ALTER TABLE analytics_deals_open DROP CONSTRAINT analytics_deals_open_pkey;
ALTER TABLE analytics_deals_open DROP COLUMN slot;
INSERT INTO analytics_deals_open SELECT * FROM t_open;
ALTER TABLE analytics_deals_open ADD PRIMARY KEY (organization_id, pipeline_id, month, stage, currency, overridden);

CREATE TEMP TABLE t_won AS SELECT organization_id, pipeline_id, day, currency,
    sum(deals)::bigint AS deals, sum(amount) AS amount, sum(to_win_us) AS to_win_us FROM analytics_deals_won GROUP BY 1, 2, 3, 4;
DELETE FROM analytics_deals_won;
ALTER TABLE analytics_deals_won DROP CONSTRAINT analytics_deals_won_pkey;
ALTER TABLE analytics_deals_won DROP COLUMN slot;
INSERT INTO analytics_deals_won SELECT * FROM t_won;
ALTER TABLE analytics_deals_won ADD PRIMARY KEY (organization_id, pipeline_id, day, currency);

CREATE TEMP TABLE t_paths AS SELECT organization_id, pipeline_id, stages, sum(deals)::bigint AS deals FROM analytics_deal_paths GROUP BY 1, 2, 3;
DELETE FROM analytics_deal_paths;
ALTER TABLE analytics_deal_paths DROP CONSTRAINT analytics_deal_paths_pkey;
ALTER TABLE analytics_deal_paths DROP COLUMN slot;
INSERT INTO analytics_deal_paths SELECT * FROM t_paths;
ALTER TABLE analytics_deal_paths ADD PRIMARY KEY (organization_id, pipeline_id, stages);
