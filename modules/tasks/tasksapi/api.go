// Package tasksapi is what the tasks module shares with others: the type of the timeline
// activity it records and its not-found error. No module reads tasks, so it offers no facade.
package tasksapi

import "github.com/mini-crm/crm/platform/apperr"

// TypeTaskCreated is the type of the timeline activity recorded when a task is created on
// a deal. Its payload is {"task_id", "title", "due_date"} (due_date "YYYY-MM-DD" or null).
const TypeTaskCreated = "task_created"

// ErrTaskNotFound is the 404 for a task that does not exist in the organization.
var ErrTaskNotFound = apperr.NotFound("task_not_found", "no task with this id exists in the organization")
