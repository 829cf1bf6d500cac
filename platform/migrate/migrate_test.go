package migrate_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

func TestVersionsMustBeUniqueAcrossModules(t *testing.T) {
	t.Parallel()
	file := func(name string) fstest.MapFS {
		return fstest.MapFS{"migrations/" + name: {Data: []byte("-- migrate:up\n-- migrate:down\n")}}
	}
	_, err := migrate.New("postgres://x/y", []migrate.Source{
		{Module: "a", FS: file("20200101000000_a_one.sql")},
		{Module: "b", FS: file("20200101000000_b_two.sql")},
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "used by both a and b") {
		t.Fatalf("err = %v", err)
	}
	server, err := testdb.ServerURL()
	if err != nil {
		t.Fatal(err)
	}
	db, err := migrate.New(server, []migrate.Source{
		{Module: "a", FS: file("20200101000000_a_one.sql")},
		{Module: "b", FS: file("20200102000000_b_two.sql")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	migs, err := db.FindMigrations()
	if err != nil || len(migs) != 2 || migs[0].Version != "20200101000000" || migs[1].Version != "20200102000000" {
		t.Fatalf("migrations %+v err %v", migs, err)
	}
}
