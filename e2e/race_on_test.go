//go:build race

package e2e

// raceEnabled: the tests run with -race, so the service is built with it too. It shares
// the compiled packages of the test build and checks the service itself for data races
// under real concurrent HTTP.
const raceEnabled = true
