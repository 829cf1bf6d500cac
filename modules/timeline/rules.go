package timeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/apperr"
)

// MaxCommentLength is the longest comment text, in characters.
const MaxCommentLength = 10000

var typePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,49}$`)

// checkType accepts the activity types modules may append: snake_case, at most 50 characters.
func checkType(typ string) error {
	if !typePattern.MatchString(typ) {
		return fmt.Errorf("timeline: invalid activity type %q", typ)
	}
	return nil
}

// payloadObject marshals an activity payload and insists that it is a JSON object.
func payloadObject(p any) (json.RawMessage, error) {
	if p == nil {
		return json.RawMessage(`{}`), nil
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("timeline: marshal payload: %w", err)
	}
	if !isObject(raw) {
		return nil, fmt.Errorf("timeline: payload must be a JSON object, got %s", raw)
	}
	return raw, nil
}

func isObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// commentPayload is the only payload a client may send.
type commentPayload struct {
	Text string `json:"text"`
}

func invalid(field, message string) error {
	return apperr.InvalidField("validation_failed", field, message, field+" "+message)
}

// checkComment validates an activity sent by a client and returns the payload to store.
// Only comments may be created, with {"text": 1..10000 characters} and nothing else.
func checkComment(typ string, payload json.RawMessage) (commentPayload, error) {
	if typ == "" {
		return commentPayload{}, invalid("type", "is required")
	}
	if typ != timelineapi.TypeComment {
		return commentPayload{}, timelineapi.ErrTypeNotAllowed
	}
	return checkCommentPayload(payload)
}

// checkCommentPayload validates the payload of a comment, new or edited: {"text": 1..10000
// characters, not only white space} and nothing else.
func checkCommentPayload(payload json.RawMessage) (commentPayload, error) {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return commentPayload{}, invalid("payload", "is required")
	}
	if !isObject(trimmed) {
		return commentPayload{}, invalid("payload", "must be an object")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &fields); err != nil {
		return commentPayload{}, invalid("payload", "must be an object")
	}
	for k := range fields {
		if k != "text" {
			return commentPayload{}, apperr.InvalidField("unknown_field", "payload."+k, "is not a known field",
				fmt.Sprintf("payload.%s is not a field of a comment; a comment has only text", k))
		}
	}
	rawText, ok := fields["text"]
	if !ok || bytes.Equal(bytes.TrimSpace(rawText), []byte("null")) {
		return commentPayload{}, invalid("payload.text", "is required")
	}
	var text string
	if err := json.Unmarshal(rawText, &text); err != nil {
		return commentPayload{}, invalid("payload.text", "must be a string")
	}
	if strings.TrimSpace(text) == "" {
		return commentPayload{}, invalid("payload.text", "is required")
	}
	if n := utf8.RuneCountInString(text); n > MaxCommentLength {
		return commentPayload{}, invalid("payload.text", fmt.Sprintf("must be at most %d characters long", MaxCommentLength))
	}
	return commentPayload{Text: text}, nil
}

// checkEditable decides whether a person may change the activity cur: only a comment, and
// only its author, or anyone when anyAuthor (a removal by a moderator).
func checkEditable(cur timelineapi.Activity, userID int64, anyAuthor bool) error {
	if cur.Type != timelineapi.TypeComment {
		return timelineapi.ErrNotEditable
	}
	if anyAuthor || (cur.AuthorID != nil && *cur.AuthorID == userID) {
		return nil
	}
	return timelineapi.ErrNotAuthor
}

// sameText reports whether the stored payload of a comment already holds c.
func sameText(stored json.RawMessage, c commentPayload) bool {
	var cur commentPayload
	return json.Unmarshal(stored, &cur) == nil && cur.Text == c.Text
}
