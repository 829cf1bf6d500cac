package pipelines

import (
	"fmt"
	"testing"
)

func TestNameFromKey(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"qualification": "Qualification", "closed_won": "Closed won", "a": "A", "step_2_b": "Step 2 b",
	} {
		if got := nameFromKey(key); got != want {
			t.Errorf("nameFromKey(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestValidKey(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]bool{
		"a": true, "lead_2": true, "a" + fmt.Sprintf("%049d", 0): true, "a" + fmt.Sprintf("%050d", 0): false,
		"": false, "Lead": false, "2nd": false, "_x": false, "with-dash": false, "with space": false, "é": false,
	} {
		if got := validKey(key); got != want {
			t.Errorf("validKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestReorder(t *testing.T) {
	t.Parallel()
	ids := []int64{1, 2, 3, 4}
	for _, c := range []struct {
		id   int64
		pos  int
		want string
	}{
		{3, 1, "[3 1 2 4]"}, {1, 4, "[2 3 4 1]"}, {1, 99, "[2 3 4 1]"}, {4, 0, "[4 1 2 3]"}, {2, 2, "[1 2 3 4]"},
		{5, 2, "[1 5 2 3 4]"}, // a new id is inserted
	} {
		if got := fmt.Sprint(reorder(ids, c.id, c.pos)); got != c.want {
			t.Errorf("reorder(%v, %d, %d) = %s, want %s", ids, c.id, c.pos, got, c.want)
		}
	}
	if fmt.Sprint(ids) != "[1 2 3 4]" {
		t.Fatalf("reorder changed its input: %v", ids)
	}
}

func TestNewPipelineCheck(t *testing.T) {
	t.Parallel()
	name := "Duplicates"
	err := NewPipeline{Name: name, Stages: []NewStage{{Key: "a"}, {Key: "b"}, {Key: "a"}, {Key: "Bad"}, {Key: "Bad"}}}.check()
	if err == nil || err.Error() != "validation_failed: stages[2].key repeats the key of stages[0]; keys are unique within a pipeline (and 2 more invalid fields)" {
		t.Fatalf("err = %v", err)
	}
	if err := (NewPipeline{Name: name, Stages: []NewStage{{Key: "a"}}}).check(); err != nil {
		t.Fatalf("valid pipeline: %v", err)
	}
}
