package main

// The statements the endpoints issue, copied from the modules' stores (squirrel output,
// byte for byte, as PostgreSQL logs them with log_statement = all) so that the direct-SQL
// side of the benchmark runs exactly what the service runs. They are copies, not imports:
// the stores keep their statements unexported. A test (sqltext_test.go) runs the
// benchmark's operations against the service with every statement it sends recorded, and
// fails unless each constant named sql… here is one of them, byte for byte (%d and %s
// standing for the numbers and ids formatted in, %l for a list of placeholders $2,$3,…),
// so a store that changes a statement
// breaks `go test ./cmd/bench` until the copy follows.
//
// The service sends every statement of a tenant request in one pipeline after the scope
// statement (platform/database: setScopeSQL), and opens transactions with BEGIN and the
// scope in one simple-protocol round trip (platform/database: WithinTx), then the writes,
// then COMMIT.
const (
	// platform/database/tenant.go
	sqlScope = "SELECT set_config('app.organization_id', $1, true), set_config('app.user_id', $2, true), set_config('app.api_key_id', $3, true)"
	// The same for the statements planned for their values (database.PlanForValues: the
	// contact list's search and tag filters).
	sqlScopePerValues = "SELECT set_config('app.organization_id', $1, true), set_config('app.user_id', $2, true), set_config('app.api_key_id', $3, true), set_config('plan_cache_mode', 'force_custom_plan', true)"
	// platform/database/database.go WithinTx: the transaction's BeginQuery, with the
	// organization, user and API key ids (decimal, or empty).
	sqlBeginScoped = "BEGIN; SELECT set_config('app.organization_id', '%s', true), set_config('app.user_id', '%s', true), set_config('app.api_key_id', '%s', true)"

	// platform/cache/bus.go notify: a deal write's invalidation of the analytics cache on
	// every replica, in its transaction.
	sqlNotifyCache = "SELECT pg_notify($1, $2)"

	// The tenant middleware's membership check (modules/orgs/store.go role) is answered from
	// the guard's roles cache after a user's first request, so the direct SQL sends no
	// statement for it either.

	dealCols = "id, organization_id, contact_id, owner_id, title, amount, currency, status, stage, max_stage, lost_reason, created_at, updated_at, " +
		"pipeline_id, expected_close_date, probability, coalesce(probability, pipelines_stage_probability(organization_id, pipeline_id, stage), 0) AS effective_probability, closed_at, stage_entered_at, deleted_at"

	// modules/deals/store.go get (noLock and forUpdate), update, insert.
	sqlDealGet       = "SELECT " + dealCols + " FROM deals WHERE id = $1 AND organization_id = $2"
	sqlDealGetLocked = sqlDealGet + " FOR UPDATE"
	sqlDealSetStage  = "UPDATE deals SET stage = $1, updated_at = clock_timestamp(), max_stage = GREATEST(max_stage, $2::smallint), stage_entered_at = clock_timestamp() WHERE id = $3 AND organization_id = $4 RETURNING " + dealCols
	sqlDealInsert    = "INSERT INTO deals (organization_id,contact_id,owner_id,title,amount,currency,status,stage,max_stage,lost_reason,pipeline_id,expected_close_date,probability) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING " + dealCols

	// modules/deals/store.go list through platform/database.Paginate, for the filter the
	// benchmark uses (status=new&status=in_progress&min_amount=…, order_by=created_at desc):
	// page size + 1 rows, by offset or after a cursor, and the count with the same filter,
	// which stops at 10,001 rows (the total is capped past 10,000).
	dealsWhere = "WHERE (organization_id = $1 AND status IN ($2,$3) AND amount >= $4)"
	// modules/deals/store.go stage history of a stage change: the current visit ends, the next begins.
	sqlStageLeft    = "UPDATE deal_stage_history SET left_at = greatest($1::timestamptz, entered_at) WHERE deal_id = $2 AND left_at IS NULL AND organization_id = $3"
	sqlStageEntered = "INSERT INTO deal_stage_history (organization_id,deal_id,pipeline_id,stage,entered_at,left_at) VALUES ($1,$2,$3,$4,$5,$6)"

	sqlDealsPage       = "SELECT " + dealCols + " FROM deals " + dealsWhere + " ORDER BY created_at DESC, id DESC LIMIT %d"
	sqlDealsPageOffset = sqlDealsPage + " OFFSET %d"
	sqlDealsPageAfter  = "SELECT " + dealCols + " FROM deals " + dealsWhere +
		" AND (created_at, id) < ($5::text::timestamptz, $6::text::bigint) ORDER BY created_at DESC, id DESC LIMIT %d"
	sqlDealsCount = "SELECT count(*) FROM (SELECT 1 FROM deals " + dealsWhere + " LIMIT 10001) AS capped"
	// The unfiltered list's total from the kept counts (modules/deals/counts.go).
	sqlDealsKeptCount = "SELECT coalesce(sum(n), 0)::bigint FROM deal_counts_org WHERE organization_id = $1"
	sqlDealsPageAll   = "SELECT " + dealCols + " FROM deals WHERE (organization_id = $1) ORDER BY created_at DESC, id DESC LIMIT %d"

	// modules/deals/store.go countCreatedBetween (analytics' new deals of the window's first day).
	sqlDealsCreatedBetween = "SELECT count(*) FROM deals WHERE organization_id = $1 AND created_at >= $2 AND created_at < $3"

	// modules/contacts/store.go get (the contact check of a deal create).
	contactCols   = "id, organization_id, owner_id, name, email, phone, company, job_title, notes, tags, created_at, updated_at, deleted_at"
	sqlContactGet = "SELECT " + contactCols + " FROM contacts WHERE id = $1 AND organization_id = $2"

	// modules/contacts/store.go list through platform/database.Paginate, newest first: a
	// search (the stored searched text of name, email, phone and company) and one tag, page
	// size + 1 rows and the count, which stops at 10,001 rows.
	contactsSearchWhere    = "WHERE (organization_id = $1 AND search_doc LIKE lower($2))"
	contactsTagWhere       = "WHERE (organization_id = $1 AND tags @> $2::text[])"
	contactsPageCols       = "SELECT " + contactCols + ", lower(name) AS sort_name FROM contacts "
	sqlContactsSearchPage  = contactsPageCols + contactsSearchWhere + " ORDER BY created_at DESC, id DESC LIMIT %d"
	sqlContactsSearchCount = "SELECT count(*) FROM (SELECT 1 FROM contact_search WHERE organization_id = $1 AND doc LIKE lower($2) LIMIT 10001) AS capped"
	sqlContactsTagPage     = contactsPageCols + contactsTagWhere + " ORDER BY created_at DESC, id DESC LIMIT %d"
	sqlContactsTagCount    = "SELECT count(*) FROM (SELECT 1 FROM contact_tags WHERE organization_id = $1 AND tag = $2 LIMIT 10001) AS capped"

	// modules/timeline/store.go insert and list.
	activityCols      = "id, organization_id, deal_id, author_id, type, payload, created_at, edited_at"
	sqlActivityInsert = "INSERT INTO activities (organization_id,deal_id,author_id,type,payload) VALUES ($1,$2,$3,$4,$5) RETURNING " + activityCols
	sqlActivitiesPage = "SELECT " + activityCols + " FROM activities WHERE deal_id = $1 AND organization_id = $2 ORDER BY created_at DESC, id DESC LIMIT %d"

	// platform/events/events.go Record: the event of a write, in its transaction (the raw
	// string there keeps its line break and indentation).
	sqlEventInsert = "INSERT INTO events (organization_id, type, audience, actor_type, actor_id, data)\n\t\t VALUES ($1, $2, $3, $4, $5, $6::json) RETURNING id"

	// platform/events/feed.go Page for the benchmark user, an owner (the events of everyone
	// and of managers), after a cursor, and Head (GET /events?since=now).
	eventCols   = "id, position, type, occurred_at, organization_id, actor_type, actor_id, data"
	sqlFeedPage = "SELECT " + eventCols + " FROM events WHERE organization_id = $1 AND position > $2 AND position IS NOT NULL AND audience <= $3 ORDER BY position LIMIT %d"
	sqlFeedHead = "SELECT max(position) FROM events WHERE organization_id = $1 AND position IS NOT NULL"

	// modules/tasks/store.go list with only_open=true; its total from the kept counts
	// (modules/tasks/counts.go).
	sqlOpenTasksPage  = "SELECT id, organization_id, deal_id, assignee_id, title, description, due_date, is_done, completed_at, created_at, updated_at, deleted_at FROM tasks WHERE (organization_id = $1 AND NOT is_done) ORDER BY coalesce(due_date, 'infinity'::date) ASC, id ASC LIMIT %d"
	sqlOpenTasksCount = "SELECT coalesce(sum(n), 0)::bigint FROM task_counts WHERE is_done = $1 AND organization_id = $2"

	// modules/analytics/store.go apply (one and two rows of totals, one of creations),
	// totals and createdSince.
	totalsUpsertTail = " ON CONFLICT (organization_id, pipeline_id, status, stage, max_stage, currency, slot) DO UPDATE SET " +
		"deals = analytics_deal_totals.deals + EXCLUDED.deals, amount = analytics_deal_totals.amount + EXCLUDED.amount"
	sqlTotalsUpsert1 = "INSERT INTO analytics_deal_totals (organization_id,pipeline_id,status,stage,max_stage,currency,slot,deals,amount) VALUES ($1,$2,$3,$4,$5,$6,pg_backend_pid() % 8,$7,$8)" + totalsUpsertTail
	sqlTotalsUpsert2 = "INSERT INTO analytics_deal_totals (organization_id,pipeline_id,status,stage,max_stage,currency,slot,deals,amount) VALUES ($1,$2,$3,$4,$5,$6,pg_backend_pid() % 8,$7,$8),($9,$10,$11,$12,$13,$14,pg_backend_pid() % 8,$15,$16)" + totalsUpsertTail
	openUpsertTail   = " ON CONFLICT (organization_id, pipeline_id, month, stage, currency, overridden, slot) DO UPDATE SET " +
		"deals = analytics_deals_open.deals + EXCLUDED.deals, amount = analytics_deals_open.amount + EXCLUDED.amount, " +
		"amount_prob = analytics_deals_open.amount_prob + EXCLUDED.amount_prob"
	// modules/analytics/readmodel.go applyMore (one and two rows of open deals and of paths).
	sqlOpenUpsert1 = "INSERT INTO analytics_deals_open (organization_id,pipeline_id,month,stage,currency,overridden,slot,deals,amount,amount_prob) " +
		"VALUES ($1,$2,$3::date,$4,$5,$6,pg_backend_pid() % 8,$7,$8,$9)" + openUpsertTail
	sqlOpenUpsert2 = "INSERT INTO analytics_deals_open (organization_id,pipeline_id,month,stage,currency,overridden,slot,deals,amount,amount_prob) " +
		"VALUES ($1,$2,$3::date,$4,$5,$6,pg_backend_pid() % 8,$7,$8,$9),($10,$11,$12::date,$13,$14,$15,pg_backend_pid() % 8,$16,$17,$18)" + openUpsertTail
	pathsUpsertTail = " ON CONFLICT (organization_id, pipeline_id, stages, slot) DO UPDATE SET deals = analytics_deal_paths.deals + EXCLUDED.deals"
	sqlPathsUpsert1 = "INSERT INTO analytics_deal_paths (organization_id,pipeline_id,stages,slot,deals) VALUES ($1,$2,$3,pg_backend_pid() % 8,$4)" + pathsUpsertTail
	sqlPathsUpsert2 = "INSERT INTO analytics_deal_paths (organization_id,pipeline_id,stages,slot,deals) VALUES ($1,$2,$3,pg_backend_pid() % 8,$4),($5,$6,$7,pg_backend_pid() % 8,$8)" + pathsUpsertTail
	// modules/deals/reports.go visited (the stages a deal visited, before and after a write).
	sqlVisited = `SELECT coalesce(array_agg(DISTINCT stage COLLATE "C" ORDER BY stage COLLATE "C"), '{}') FROM deal_stage_history ` +
		"WHERE deal_id = $1 AND organization_id = $2 AND pipeline_id = $3"
	sqlCreatedUpsert = "INSERT INTO analytics_deals_created (organization_id,day,slot,deals) VALUES ($1,$2::date,pg_backend_pid() % 8,$3) ON CONFLICT (organization_id, day, slot) DO UPDATE SET deals = analytics_deals_created.deals + EXCLUDED.deals"
	sqlTotals        = "SELECT pipeline_id, status, stage, max_stage, currency, sum(deals)::bigint AS deals, sum(amount) AS amount FROM analytics_deal_totals WHERE organization_id = $1 GROUP BY pipeline_id, status, stage, max_stage, currency HAVING sum(deals) <> 0"
	sqlCreatedSince  = "SELECT COALESCE(sum(deals), 0)::bigint FROM analytics_deals_created WHERE organization_id = $1 AND day >= $2::date"

	// modules/orgs/store.go org (the organization's time zone, for the forecast's months).
	sqlOrgGet = "SELECT o.id, o.name, o.default_currency, o.time_zone, o.created_at FROM organizations o WHERE o.id = $1"
	// modules/pipelines/store.go defaultOf, all and the stages of the pipelines read (%l: a
	// list of placeholders, one per pipeline): the default pipeline of the funnel and the
	// velocity report, and every pipeline's stage probabilities for the forecast.
	sqlPipelineDefault = "SELECT organization_id, id, name, position, is_default, created_at, updated_at FROM pipelines WHERE is_default = $1 AND organization_id = $2"
	sqlPipelinesAll    = "SELECT organization_id, id, name, position, is_default, created_at, updated_at FROM pipelines WHERE organization_id = $1 ORDER BY position, id"
	sqlPipelineStages  = "SELECT pipeline_id, id, key, name, position, probability, rotten_days FROM pipeline_stages WHERE organization_id = $1 AND pipeline_id IN (%l) ORDER BY pipeline_id, position"

	// modules/analytics/readmodel.go open, wonDays, wonSince and paths (the forecast, the
	// won deals of velocity and the funnel's reached).
	sqlForecastOpen = "SELECT pipeline_id, CASE WHEN month = 'infinity' THEN NULL ELSE month END AS month, stage, currency, overridden, sum(deals)::bigint AS deals, sum(amount) AS amount, sum(amount_prob) AS amount_prob " +
		"FROM analytics_deals_open WHERE organization_id = $1 AND (month = 'infinity' OR (month >= $2::date AND month < $3::date)) " +
		"GROUP BY pipeline_id, month, stage, currency, overridden HAVING sum(deals) <> 0"
	sqlForecastWonDays = "SELECT day, currency::text AS currency, sum(deals)::bigint AS deals, sum(amount) AS amount FROM analytics_deals_won " +
		"WHERE organization_id = $1 AND day >= $2::date AND day <= $3::date GROUP BY day, currency HAVING sum(deals) <> 0"
	sqlWonSince = "SELECT coalesce(sum(deals), 0)::bigint AS deals, coalesce(sum(to_win_us), 0)::text AS to_win_us FROM analytics_deals_won " +
		"WHERE organization_id = $1 AND pipeline_id = $2 AND day >= $3::date"
	sqlPaths = "SELECT stages, sum(deals)::bigint AS deals FROM analytics_deal_paths WHERE organization_id = $1 AND pipeline_id = $2 GROUP BY stages HAVING sum(deals) <> 0"

	// modules/deals/velocity.go velocityVisits (velocity's visits: the read model's whole
	// months and the days to the nearest month boundary, the history of the first day, the
	// middle visits picked from their bucket) and
	// modules/deals/reports.go wonBetween (the won deals of the window's first day).
	sqlStageVisits = `WITH parts AS (
    SELECT stage, bucket, visits, total_s FROM deal_visit_months
    WHERE organization_id = $1 AND pipeline_id = $2 AND month >= $3::date
    UNION ALL
    SELECT stage, bucket, CASE WHEN day >= $6::date THEN visits ELSE -visits END, CASE WHEN day >= $6::date THEN total_s ELSE -total_s END
    FROM deal_visit_days
    WHERE organization_id = $1 AND pipeline_id = $2 AND day >= $4::date AND day < $5::date
    UNION ALL
    SELECT stage, deals_visit_bucket(entered_at, left_at), 1, extract(epoch FROM left_at - entered_at) FROM deal_stage_history
    WHERE organization_id = $1 AND pipeline_id = $2 AND left_at >= $7 AND left_at < $8 AND left_at IS NOT NULL AND NOT trashed
), buckets AS (
    SELECT stage, bucket, sum(visits)::bigint AS visits, sum(total_s) AS total_s FROM parts
    GROUP BY stage, bucket HAVING sum(visits) <> 0
), ranked AS (
    SELECT stage, bucket, visits,
           (sum(visits) OVER (PARTITION BY stage ORDER BY bucket))::bigint - visits AS below,
           (sum(visits) OVER (PARTITION BY stage))::bigint AS n,
           sum(total_s) OVER (PARTITION BY stage) AS total_s
    FROM buckets
), middle AS (
    SELECT stage, bucket, below, n, total_s,
           greatest((n + 1) / 2, below + 1) AS first_rank, least(n / 2 + 1, below + visits) AS last_rank
    FROM ranked
    WHERE below < n / 2 + 1 AND below + visits >= (n + 1) / 2
), picked AS (
    SELECT m.stage, m.n, m.total_s, p.d
    FROM middle m CROSS JOIN LATERAL (
        SELECT h.left_at - h.entered_at AS d FROM deal_stage_history h
        WHERE h.organization_id = $1 AND h.pipeline_id = $2 AND h.stage = m.stage
          AND deals_visit_bucket(h.entered_at, h.left_at) = m.bucket
          AND h.left_at >= $7 AND h.left_at IS NOT NULL AND NOT h.trashed
        ORDER BY 1 OFFSET m.first_rank - m.below - 1 LIMIT m.last_rank - m.first_rank + 1) p
)
SELECT stage, n AS visits, round(total_s / n * 1000000)::bigint AS mean_us,
       round(extract(epoch FROM CASE WHEN count(*) = 1 THEN min(d) ELSE (max(d) - min(d)) * 0.5::float8 + min(d) END) * 1000000)::bigint AS median_us
FROM picked GROUP BY stage, n, total_s`
	sqlWonBetween = "SELECT count(*) AS deals, coalesce(sum(extract(epoch FROM closed_at - created_at) * 1000000), 0)::numeric(40,0)::text AS to_win_us " +
		"FROM deals WHERE organization_id = $1 AND pipeline_id = $2 AND status = 'won' AND closed_at >= $3 AND closed_at < $4"

	// modules/identity/store.go userByEmail and insertRefresh (login).
	sqlUserByEmail   = "SELECT id, email, password_hash, name, created_at FROM users WHERE lower(email) = lower($1)"
	sqlRefreshInsert = "INSERT INTO refresh_tokens (user_id,family_id,token_hash,expires_at) VALUES ($1,$2,$3,$4)"
)
