// Package e2e runs the user-story scenarios of e2e/scenarios against the compiled service.
//
// TestScenarios (an ordinary go test, so `go test ./...` runs it) builds cmd/crm with
// `go build`, gives it a fresh migrated PostgreSQL database (platform/testdb:
// TEST_DATABASE_URL, DATABASE_URL or the local server, else dockertest), starts it on a
// free loopback port with MIGRATE_ON_START=true, waits for /ready, runs every scenario over
// real HTTP, then stops it with SIGTERM and checks that it exits with status 0.
//
// Every request and every response is validated against the OpenAPI document the binary
// serves at /api/v1/openapi.json (kin-openapi), on top of the scenario's own expectations.
// A scenario that calls a documented operation the server does not register fails, naming
// the missing routes.
//
// The scenario format is described in e2e/README.md.
package e2e
