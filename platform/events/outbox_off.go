//go:build nooutbox

package events

// compiledOut: this build records no events (see outbox_on.go).
const compiledOut = true
