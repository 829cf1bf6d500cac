package events

import "slices"

// Types are the event types a client can filter the feed by and a webhook can subscribe to.
// webhook.ping is not among them: it is delivered to one endpoint only, whatever it
// subscribes to, and never listed.
var Types = []string{
	"contact.created", "contact.updated", "contact.deleted", "contact.restored", "contact.merged",
	"deal.created", "deal.updated", "deal.deleted", "deal.restored",
	"task.created", "task.updated", "task.deleted", "task.restored",
	"activity.created", "activity.updated", "activity.deleted",
	"member.added", "member.updated", "member.removed",
	"pipeline.created", "pipeline.updated", "pipeline.deleted",
	"api_key.created", "api_key.revoked",
	"webhook.created", "webhook.updated", "webhook.deleted", "webhook.disabled",
}

// Ping is the type of the test event a webhook endpoint is sent on request.
const Ping = "webhook.ping"

// KnownType reports whether t is one of Types.
func KnownType(t string) bool { return slices.Contains(Types, t) }
