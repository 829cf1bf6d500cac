//go:build !nooutbox

package events

// compiledOut is true only in a build with the nooutbox tag, which records no events: it
// exists only to measure what the outbox costs a write, by running the same benchmark against
// both builds on one database (see the README's performance section); such a build has no
// change feed and delivers no webhooks.
const compiledOut = false
