package tasks

import "github.com/mini-crm/crm/platform/web"

// taskJSON is a task as GET /tasks/{id} renders it; the task.* events carry the same
// rendering.
type taskJSON struct {
	ID          int64     `json:"id"`
	DealID      int64     `json:"deal_id"`
	AssigneeID  int64     `json:"assignee_id"`
	Title       string    `json:"title"`
	Description *string   `json:"description"`
	DueDate     *web.Date `json:"due_date"`
	IsDone      bool      `json:"is_done"`
	CompletedAt *web.Time `json:"completed_at"`
	CreatedAt   web.Time  `json:"created_at"`
	UpdatedAt   web.Time  `json:"updated_at"`
}

func toJSON(t Task) taskJSON {
	out := taskJSON{ID: t.ID, DealID: t.DealID, AssigneeID: t.AssigneeID, Title: t.Title, Description: t.Description,
		IsDone: t.IsDone, CreatedAt: web.Time(t.CreatedAt), UpdatedAt: web.Time(t.UpdatedAt)}
	if t.CompletedAt != nil {
		at := web.Time(*t.CompletedAt)
		out.CompletedAt = &at
	}
	if t.DueDate != nil {
		d := web.Date(*t.DueDate)
		out.DueDate = &d
	}
	return out
}
