package orgs

import "github.com/mini-crm/crm/platform/web"

// memberJSON is a member as the members list renders it (user_id, no id of its own); the
// member.* events carry the same rendering.
type memberJSON struct {
	UserID   int64    `json:"user_id"`
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	JoinedAt web.Time `json:"joined_at"`
}

func toMemberJSON(m Member) memberJSON {
	return memberJSON{UserID: m.User.ID, Email: m.User.Email, Name: m.User.Name, Role: string(m.Role), JoinedAt: web.Time(m.JoinedAt)}
}
