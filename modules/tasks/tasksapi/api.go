// Package tasksapi is the public contract of the tasks module: the to-dos attached to the
// deals of an organization.
package tasksapi

import (
	"context"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
)

// TypeTaskCreated is the type of the timeline activity recorded when a task is created on
// a deal. Its payload is {"task_id", "title", "due_date"} (due_date "YYYY-MM-DD" or null).
const TypeTaskCreated = "task_created"

// Task is a task of an organization.
type Task struct {
	ID             int64
	OrganizationID int64
	DealID         int64
	Title          string
	Description    *string
	DueDate        *time.Time // midnight UTC of the date, nil when the task has none
	IsDone         bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Tasks is the facade of the tasks module.
type Tasks interface {
	// Task returns the task, ErrTaskNotFound when it does not exist in orgID. It runs in the
	// transaction carried by ctx when there is one.
	Task(ctx context.Context, orgID, taskID int64) (Task, error)
}

// ErrTaskNotFound is the 404 for a task that does not exist in the organization.
var ErrTaskNotFound = apperr.NotFound("task_not_found", "no task with this id exists in the organization")
