package timeline

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mini-crm/crm/modules/timeline/timelineapi"
	"github.com/mini-crm/crm/platform/apperr"
)

func TestCheckComment(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", MaxCommentLength)
	tests := []struct {
		name      string
		typ       string
		payload   string
		wantCode  string
		wantField string
		wantText  string
	}{
		{name: "comment", typ: "comment", payload: `{"text":"hello"}`, wantText: "hello"},
		{name: "one character", typ: "comment", payload: `{"text":"x"}`, wantText: "x"},
		{name: "longest, counted in characters", typ: "comment", payload: `{"text":"` + long + `"}`, wantText: long},
		{name: "too long", typ: "comment", payload: `{"text":"` + long + `e"}`, wantCode: "validation_failed", wantField: "payload.text"},
		{name: "empty text", typ: "comment", payload: `{"text":""}`, wantCode: "validation_failed", wantField: "payload.text"},
		{name: "blank text", typ: "comment", payload: `{"text":"  \n"}`, wantCode: "validation_failed", wantField: "payload.text"},
		{name: "null text", typ: "comment", payload: `{"text":null}`, wantCode: "validation_failed", wantField: "payload.text"},
		{name: "missing text", typ: "comment", payload: `{}`, wantCode: "validation_failed", wantField: "payload.text"},
		{name: "text not a string", typ: "comment", payload: `{"text":5}`, wantCode: "validation_failed", wantField: "payload.text"},
		{name: "unknown payload field", typ: "comment", payload: `{"text":"a","pinned":true}`, wantCode: "unknown_field", wantField: "payload.pinned"},
		{name: "payload not an object", typ: "comment", payload: `"hello"`, wantCode: "validation_failed", wantField: "payload"},
		{name: "payload an array", typ: "comment", payload: `[]`, wantCode: "validation_failed", wantField: "payload"},
		{name: "payload missing", typ: "comment", payload: ``, wantCode: "validation_failed", wantField: "payload"},
		{name: "payload null", typ: "comment", payload: `null`, wantCode: "validation_failed", wantField: "payload"},
		{name: "type missing", typ: "", payload: `{"text":"a"}`, wantCode: "validation_failed", wantField: "type"},
		{name: "system type", typ: "system", payload: `{"event":"deal_created"}`, wantCode: "activity_type_not_allowed", wantField: "type"},
		{name: "status_changed type", typ: "status_changed", payload: `{"from":"new","to":"won"}`, wantCode: "activity_type_not_allowed", wantField: "type"},
		{name: "unknown type", typ: "note", payload: `{"text":"a"}`, wantCode: "activity_type_not_allowed", wantField: "type"},
		{name: "type checked before payload", typ: "stage_changed", payload: `null`, wantCode: "activity_type_not_allowed", wantField: "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := checkComment(tt.typ, json.RawMessage(tt.payload))
			if tt.wantCode == "" {
				if err != nil || c.Text != tt.wantText {
					t.Fatalf("checkComment = %q, %v; want %q", c.Text, err, tt.wantText)
				}
				return
			}
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.KindInvalid || ae.Code != tt.wantCode {
				t.Fatalf("checkComment error = %v; want 400 %s", err, tt.wantCode)
			}
			if len(ae.Fields) != 1 || ae.Fields[0].Field != tt.wantField {
				t.Fatalf("fields = %v; want %s", ae.Fields, tt.wantField)
			}
			if tt.wantCode == "activity_type_not_allowed" && !errors.Is(err, timelineapi.ErrTypeNotAllowed) {
				t.Fatal("not ErrTypeNotAllowed")
			}
		})
	}
}

func TestCheckType(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		typ string
		ok  bool
	}{
		{"comment", true}, {"status_changed", true}, {"task_created", true}, {"a1", true},
		{"", false}, {"Comment", false}, {"1abc", false}, {"with space", false}, {"dash-ed", false},
		{strings.Repeat("a", 50), true}, {strings.Repeat("a", 51), false},
	} {
		if err := checkType(tt.typ); (err == nil) != tt.ok {
			t.Errorf("checkType(%q) = %v, want ok=%v", tt.typ, err, tt.ok)
		}
	}
}

func TestPayloadObject(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   any
		want string
		ok   bool
	}{
		{nil, `{}`, true},
		{map[string]string{"from": "new", "to": "won"}, `{"from":"new","to":"won"}`, true},
		{struct {
			Event string `json:"event"`
		}{"deal_created"}, `{"event":"deal_created"}`, true},
		{json.RawMessage(`{"a":1}`), `{"a":1}`, true},
		{"text", "", false},
		{[]int{1}, "", false},
		{json.RawMessage(`null`), "", false},
		{func() {}, "", false},
	} {
		got, err := payloadObject(tt.in)
		if (err == nil) != tt.ok || (tt.ok && string(got) != tt.want) {
			t.Errorf("payloadObject(%v) = %s, %v; want %s ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
