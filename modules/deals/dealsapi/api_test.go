package dealsapi_test

import (
	"testing"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
)

// The pipeline is the one definition of the stages: positions count from 1 in its order,
// and the key list and the lookups agree with it.
func TestPipelineDefinesKeysAndPositions(t *testing.T) {
	t.Parallel()
	want := []string{"qualification", "proposal", "negotiation", "closed"}
	if len(dealsapi.Pipeline) != len(want) || len(dealsapi.Stages) != len(want) {
		t.Fatalf("pipeline %v, stages %v", dealsapi.Pipeline, dealsapi.Stages)
	}
	for i, key := range want {
		s := dealsapi.Pipeline[i]
		if s.Key != key || s.Position != i+1 || dealsapi.Stages[i] != key {
			t.Errorf("stage %d = %+v (key %q), want %s at %d", i, s, dealsapi.Stages[i], key, i+1)
		}
		if got, ok := dealsapi.StageOf(key); !ok || got != s {
			t.Errorf("StageOf(%q) = %+v, %v", key, got, ok)
		}
		if got, ok := dealsapi.StageAt(i + 1); !ok || got != s {
			t.Errorf("StageAt(%d) = %+v, %v", i+1, got, ok)
		}
		if dealsapi.StageOrdinal(key) != i+1 {
			t.Errorf("StageOrdinal(%q) = %d", key, dealsapi.StageOrdinal(key))
		}
	}
	if s, ok := dealsapi.StageOf("pitch"); ok || s != (dealsapi.Stage{}) {
		t.Errorf("unknown key gives %+v, %v", s, ok)
	}
	for _, pos := range []int{0, -1, len(want) + 1} {
		if s, ok := dealsapi.StageAt(pos); ok || s != (dealsapi.Stage{}) {
			t.Errorf("StageAt(%d) = %+v, %v", pos, s, ok)
		}
	}
	if dealsapi.StageOrdinal("pitch") != 0 {
		t.Error("unknown key has a position")
	}
}
