package deals

import (
	"reflect"
	"testing"
)

// A Deal scanned by position gets each column of dealCols into the field of that column's
// name: ScanTargets lists every field, in the order of dealCols.
func TestDealScanTargetsFollowDealCols(t *testing.T) {
	var d Deal
	targets := d.ScanTargets()
	v := reflect.ValueOf(&d).Elem()
	if len(targets) != v.NumField() || len(targets) != len(dealColumnNames) {
		t.Fatalf("%d targets, %d fields, %d columns", len(targets), v.NumField(), len(dealColumnNames))
	}
	tagAt := map[uintptr]string{}
	for i := range v.NumField() {
		tagAt[v.Field(i).Addr().Pointer()] = v.Type().Field(i).Tag.Get("db")
	}
	for i, target := range targets {
		if got := tagAt[reflect.ValueOf(target).Pointer()]; got != dealColumnNames[i] {
			t.Errorf("target %d is the field of column %q, want %q", i, got, dealColumnNames[i])
		}
	}
}
