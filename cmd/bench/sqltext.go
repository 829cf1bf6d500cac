package main

// The statements the endpoints issue, copied from the modules' stores (squirrel output,
// byte for byte, as PostgreSQL logs them with log_statement = all) so that the direct-SQL
// side of the benchmark runs exactly what the service runs. They are copies, not imports:
// the stores keep their statements unexported. A test (sqltext_test.go) runs the
// benchmark's operations against the service with every statement it sends recorded, and
// fails unless each constant named sql… here is one of them, byte for byte (%d and %s
// standing for the numbers and ids formatted in), so a store that changes a statement
// breaks `go test ./cmd/bench` until the copy follows.
//
// The service sends every statement of a tenant request in one pipeline after the scope
// statement (platform/database: setScopeSQL), and opens transactions with BEGIN and the
// scope in one simple-protocol round trip (platform/database: WithinTx), then the writes,
// then COMMIT.
const (
	// platform/database/tenant.go
	sqlScope = "SELECT set_config('app.organization_id', $1, true), set_config('app.user_id', $2, true), set_config('app.api_key_id', $3, true)"
	// platform/database/database.go WithinTx: the transaction's BeginQuery, with the
	// organization, user and API key ids (decimal, or empty).
	sqlBeginScoped = "BEGIN; SELECT set_config('app.organization_id', '%s', true), set_config('app.user_id', '%s', true), set_config('app.api_key_id', '%s', true)"

	// modules/orgs/store.go role: the tenant middleware's membership check, on every
	// tenant request.
	sqlRole = "SELECT role FROM organization_members WHERE organization_id = $1 AND user_id = $2"

	dealCols = "id, organization_id, contact_id, owner_id, title, amount, currency, status, stage, max_stage, lost_reason, created_at, updated_at, " +
		"pipeline_id, expected_close_date, probability, coalesce(probability, pipelines_stage_probability(organization_id, pipeline_id, stage), 0) AS effective_probability, closed_at, stage_entered_at"

	// modules/deals/store.go get (noLock and forUpdate), update, insert.
	sqlDealGet       = "SELECT " + dealCols + " FROM deals WHERE id = $1 AND organization_id = $2"
	sqlDealGetLocked = sqlDealGet + " FOR UPDATE"
	sqlDealSetStage  = "UPDATE deals SET stage = $1, updated_at = clock_timestamp(), max_stage = GREATEST(max_stage, $2::smallint), stage_entered_at = clock_timestamp() WHERE id = $3 AND organization_id = $4 RETURNING " + dealCols
	sqlDealInsert    = "INSERT INTO deals (organization_id,contact_id,owner_id,title,amount,currency,status,stage,max_stage,lost_reason,pipeline_id,expected_close_date,probability) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING " + dealCols

	// modules/deals/store.go list through platform/database.Paginate, for the filter the
	// benchmark uses (status=new&status=in_progress&min_amount=…, order_by=created_at desc):
	// page size + 1 rows, by offset or after a cursor, and the count with the same filter.
	dealsWhere = "WHERE (organization_id = $1 AND status IN ($2,$3) AND amount >= $4)"
	// modules/deals/store.go stage history of a stage change: the current visit ends, the next begins.
	sqlStageLeft    = "UPDATE deal_stage_history SET left_at = greatest($1::timestamptz, entered_at) WHERE deal_id = $2 AND left_at IS NULL AND organization_id = $3"
	sqlStageEntered = "INSERT INTO deal_stage_history (organization_id,deal_id,pipeline_id,stage,entered_at,left_at) VALUES ($1,$2,$3,$4,$5,$6)"

	sqlDealsPage       = "SELECT " + dealCols + " FROM deals " + dealsWhere + " ORDER BY created_at DESC, id DESC LIMIT %d"
	sqlDealsPageOffset = sqlDealsPage + " OFFSET %d"
	sqlDealsPageAfter  = "SELECT " + dealCols + " FROM deals " + dealsWhere +
		" AND (created_at, id) < ($5::text::timestamptz, $6::text::bigint) ORDER BY created_at DESC, id DESC LIMIT %d"
	sqlDealsCount = "SELECT count(*) FROM deals " + dealsWhere

	// modules/deals/store.go countCreatedBetween (analytics' new deals of the window's first day).
	sqlDealsCreatedBetween = "SELECT count(*) FROM deals WHERE organization_id = $1 AND created_at >= $2 AND created_at < $3"

	// modules/contacts/store.go get (the contact check of a deal create).
	sqlContactGet = "SELECT id, organization_id, owner_id, name, email, phone, created_at, updated_at FROM contacts WHERE id = $1 AND organization_id = $2"

	// modules/timeline/store.go insert and list.
	activityCols      = "id, organization_id, deal_id, author_id, type, payload, created_at"
	sqlActivityInsert = "INSERT INTO activities (organization_id,deal_id,author_id,type,payload) VALUES ($1,$2,$3,$4,$5) RETURNING " + activityCols
	sqlActivitiesPage = "SELECT " + activityCols + " FROM activities WHERE deal_id = $1 AND organization_id = $2 ORDER BY created_at DESC, id DESC LIMIT %d"
	sqlActivitiesCnt  = "SELECT count(*) FROM activities WHERE deal_id = $1 AND organization_id = $2"

	// platform/events/events.go Record: the event of a write, in its transaction (the raw
	// string there keeps its line break and indentation).
	sqlEventInsert = "INSERT INTO events (organization_id, type, audience, actor_type, actor_id, data)\n\t\t VALUES ($1, $2, $3, $4, $5, $6::json) RETURNING id"

	// platform/events/feed.go Page for the benchmark user, an owner (the events of everyone
	// and of managers), after a cursor, and Head (GET /events?since=now).
	eventCols   = "id, position, type, occurred_at, organization_id, actor_type, actor_id, data"
	sqlFeedPage = "SELECT " + eventCols + " FROM events WHERE organization_id = $1 AND position > $2 AND position IS NOT NULL AND audience <= $3 ORDER BY position LIMIT %d"
	sqlFeedHead = "SELECT max(position) FROM events WHERE organization_id = $1 AND position IS NOT NULL"

	// modules/tasks/store.go list with only_open=true.
	sqlOpenTasksPage  = "SELECT id, organization_id, deal_id, title, description, due_date, is_done, created_at, updated_at FROM tasks WHERE (organization_id = $1 AND NOT is_done) ORDER BY coalesce(due_date, 'infinity'::date) ASC, id ASC LIMIT %d"
	sqlOpenTasksCount = "SELECT count(*) FROM tasks WHERE (organization_id = $1 AND NOT is_done)"

	// modules/analytics/store.go apply (one and two rows of totals, one of creations),
	// totals and createdSince.
	totalsUpsertTail = " ON CONFLICT (organization_id, pipeline_id, status, stage, max_stage, currency) DO UPDATE SET " +
		"deals = analytics_deal_totals.deals + EXCLUDED.deals, amount = analytics_deal_totals.amount + EXCLUDED.amount"
	sqlTotalsUpsert1 = "INSERT INTO analytics_deal_totals (organization_id,pipeline_id,status,stage,max_stage,currency,deals,amount) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)" + totalsUpsertTail
	sqlTotalsUpsert2 = "INSERT INTO analytics_deal_totals (organization_id,pipeline_id,status,stage,max_stage,currency,deals,amount) VALUES ($1,$2,$3,$4,$5,$6,$7,$8),($9,$10,$11,$12,$13,$14,$15,$16)" + totalsUpsertTail
	sqlCreatedUpsert = "INSERT INTO analytics_deals_created (organization_id,day,deals) VALUES ($1,$2::date,$3) ON CONFLICT (organization_id, day) DO UPDATE SET deals = analytics_deals_created.deals + EXCLUDED.deals"
	sqlTotals        = "SELECT pipeline_id, status, stage, max_stage, currency, deals, amount FROM analytics_deal_totals WHERE organization_id = $1 AND deals <> $2"
	sqlCreatedSince  = "SELECT COALESCE(sum(deals), 0)::bigint FROM analytics_deals_created WHERE organization_id = $1 AND day >= $2::date"

	// modules/identity/store.go userByEmail and insertRefresh (login).
	sqlUserByEmail   = "SELECT id, email, password_hash, name, created_at FROM users WHERE lower(email) = lower($1)"
	sqlRefreshInsert = "INSERT INTO refresh_tokens (user_id,family_id,token_hash,expires_at) VALUES ($1,$2,$3,$4)"
)
