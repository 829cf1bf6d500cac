package events

import (
	"testing"
	"time"

	"github.com/mini-crm/crm/platform/database"
)

// FeedCursor is the cursor the feed itself hands out: the feed reads back its position and
// time, and a cursor signed with another key is refused.
func TestFeedCursorIsTheFeedsOwn(t *testing.T) {
	c := database.NewCursors([]byte("a-secret-that-is-long-enough-for-cursors"))
	at := time.Date(2026, 11, 20, 8, 30, 0, 123456789, time.UTC)
	raw := FeedCursor(c, 1234567, at)
	if raw != encodeFeed(c, 1234567, at) {
		t.Fatal("FeedCursor differs from the cursor the feed encodes")
	}
	v, err := c.Decode(raw, feedOrder)
	if err != nil {
		t.Fatal(err)
	}
	if v[0] != "1234567" {
		t.Errorf("position %q, want 1234567", v[0])
	}
	if got, err := time.Parse(time.RFC3339Nano, v[1]); err != nil || !got.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("time %q (%v), want %s", v[1], err, at.Truncate(time.Microsecond))
	}
	other := database.NewCursors([]byte("another-secret-that-is-long-enough-too"))
	if _, err := other.Decode(raw, feedOrder); err == nil {
		t.Error("a cursor signed with another key was accepted")
	}
}
